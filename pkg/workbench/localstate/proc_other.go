//go:build !unix

package localstate

// ProcessAlive cannot tell here and assumes the process runs.
func ProcessAlive(pid int) bool { return pid > 0 }
