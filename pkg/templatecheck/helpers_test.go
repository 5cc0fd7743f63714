package templatecheck

import "testing"

// mustPaths finds the repository and ../shared/schema, or stops the test
// saying what is missing.
func mustPaths(tb testing.TB) Paths {
	tb.Helper()
	p, err := FindPaths(".")
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
