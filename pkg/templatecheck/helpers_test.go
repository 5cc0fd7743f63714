package templatecheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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

func TestFindPathsNamesMissingSchemas(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(filepath.Join(repo, "functions"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "template.yaml"), []byte("Resources: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := FindPaths(filepath.Join(repo, "functions"))
	if err == nil {
		t.Fatal("FindPaths found schemas in an empty directory")
	}
	for _, want := range []string{SAMSchemaFile, filepath.Join(dir, "shared", "schema"), "beside the repository"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
