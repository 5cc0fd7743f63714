package templatecheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// schemaDir holds the schemas the tests validate against, with their
// sources and licences in its README.md.
const schemaDir = "testdata/schema"

// mustPaths finds the repository, or stops the test saying what is missing.
func mustPaths(tb testing.TB) Paths {
	tb.Helper()
	p, err := FindPaths(".")
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestFindPathsFromASubdirectory(t *testing.T) {
	p := mustPaths(t)
	for _, f := range []string{p.Template, filepath.Join(p.Root, "go.mod"), filepath.Join(p.Root, "functions")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("FindPaths(.) = %+v: %v", p, err)
		}
	}
}

// TestSchemasNameTheirSource keeps the copied schemas traceable: each file
// is named in the README.md beside it, which also names the licence files.
func TestSchemasNameTheirSource(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(schemaDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(schemaDir, CloudFormationDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no schema in %s", filepath.Join(schemaDir, CloudFormationDir))
	}
	files = append(files, filepath.Join(schemaDir, SAMSchemaFile))
	lic, err := filepath.Glob(filepath.Join(schemaDir, "LICENSE.*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(lic) < 2 {
		t.Errorf("licence files %v, want one per source", lic)
	}
	for _, f := range append(files, lic...) {
		if !strings.Contains(string(readme), "`"+filepath.Base(f)+"`") {
			t.Errorf("%s/README.md does not name %s", schemaDir, filepath.Base(f))
		}
	}
}
