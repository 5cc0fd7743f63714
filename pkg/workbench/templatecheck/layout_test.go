package templatecheck

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/keyward/keyward/"

// deps lists the keyward packages pattern links (go list -deps), relative to
// the module.
func deps(t *testing.T, root, pattern string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pattern)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v (is the go command on PATH?)", pattern, err)
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		if rel, ok := strings.CutPrefix(p, module); ok {
			pkgs = append(pkgs, rel)
		}
	}
	return pkgs
}

// TestFunctionsLinkNoWorkbench: what ships to Lambda (functions/ and what
// they link) never links a package that runs only on a laptop: pkg/workbench
// (emulators, template reader, checks, test harnesses) or scripts/.
func TestFunctionsLinkNoWorkbench(t *testing.T) {
	p := mustPaths(t)
	pkgs := deps(t, p.Root, "./functions/...")
	if len(pkgs) == 0 {
		t.Fatal("go list found no keyward package under functions/")
	}
	for _, pkg := range pkgs {
		if strings.HasPrefix(pkg, "pkg/workbench/") || strings.HasPrefix(pkg, "scripts/") {
			t.Errorf("a function links %s, which is workbench: move what it needs into pkg/", pkg)
		}
	}
}

// TestBootstrapLinksNoEmulator: make bootstrap talks to a deployed stack or
// reads a running local stack's state file; it links none of the local
// stand-ins.
func TestBootstrapLinksNoEmulator(t *testing.T) {
	p := mustPaths(t)
	for _, pkg := range deps(t, p.Root, "./scripts/bootstrap") {
		switch strings.TrimPrefix(pkg, "pkg/workbench/") {
		case "ddblocal", "ddbstream", "lambdaemu", "gatewayemu", "localkms", "streampoller", "localstack":
			t.Errorf("scripts/bootstrap links the emulator package %s", pkg)
		}
	}
}

// TestOnlyNameValidatorsLinkUnicodeTables: the Unicode tables of
// pkg/unicoderules (normalisation, case folding, confusables, IDNA: about
// 0.4 MiB of a binary) are linked only by the functions that validate key
// names or allow-lists. The authorizer and verify, on every request's path,
// and the other functions work with stored forms and must not link them.
func TestOnlyNameValidatorsLinkUnicodeTables(t *testing.T) {
	p := mustPaths(t)
	validators := map[string]bool{"create": true, "edit": true, "list": true, "tenants": true}
	fns, err := os.ReadDir(filepath.Join(p.Root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range fns {
		if !fn.IsDir() {
			continue
		}
		links := slices.Contains(deps(t, p.Root, "./functions/"+fn.Name()), "pkg/unicoderules")
		switch name := fn.Name(); {
		case links && !validators[name]:
			t.Errorf("functions/%s links pkg/unicoderules; only %v should", name, slices.Sorted(maps.Keys(validators)))
		case !links && validators[name]:
			t.Errorf("functions/%s validates names but does not link pkg/unicoderules", name)
		}
	}
}
