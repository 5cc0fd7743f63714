//go:build !unix

package localstack

// lockDir does not lock here: do not run two stacks on one data directory.
func lockDir(string) (func(), error) { return func() {}, nil }
