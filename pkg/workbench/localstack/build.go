package localstack

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// PackageDir returns the Go package (a directory relative to repoRoot,
// "./functions/create") that builds the function, found the way `sam build`
// would build it:
//
//  1. BuildMethod makefile: the package the Makefile's build-<LogicalId>
//     target passes to `go build` (read with `make -n`, so any way of
//     writing the target works);
//  2. a CodeUri directory holding a main package;
//  3. by convention, functions/<logical ID without "Function", lower case>
//     (AuditStreamFunction → functions/auditstream).
func PackageDir(ctx context.Context, repoRoot string, f *samtemplate.ServerlessFunction) (string, error) {
	return packageDirIn(ctx, repoRoot, repoRoot, f)
}

// packageDirIn is PackageDir for a template in tmplDir (CodeUri is relative
// to it) whose functions build in the Go module at repoRoot.
func packageDirIn(ctx context.Context, repoRoot, tmplDir string, f *samtemplate.ServerlessFunction) (string, error) {
	codeDir := filepath.Join(tmplDir, filepath.FromSlash(f.CodeURI))
	if f.BuildMethod == "makefile" {
		if pkg, err := makeTargetPackage(ctx, codeDir, "build-"+f.LogicalID); err == nil {
			if rel, err := relPackage(repoRoot, codeDir, pkg); err == nil {
				return rel, nil
			}
		}
	}
	if f.CodeURI != "" && f.CodeURI != "." && isMainPackage(codeDir) {
		return relPackage(repoRoot, repoRoot, codeDir)
	}
	name := strings.ToLower(strings.TrimSuffix(f.LogicalID, "Function"))
	dir := filepath.Join(tmplDir, "functions", name)
	if isMainPackage(dir) {
		return relPackage(repoRoot, repoRoot, dir)
	}
	return "", fmt.Errorf("localstack: no package for function %s: no Makefile target build-%s naming one, CodeUri %q is not a main package, and %s does not exist",
		f.LogicalID, f.LogicalID, f.CodeURI, dir)
}

// makeTargetPackage runs `make -n target` in dir and returns the package
// argument of the go build command it prints.
func makeTargetPackage(ctx context.Context, dir, target string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, "Makefile")); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "make", "-n", "-s", "--no-print-directory", target, "ARTIFACTS_DIR=/nonexistent")
	cmd.Dir = dir
	cmd.Env = MakeEnv()
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = io.Discard
	if err := cmd.Run(); err != nil {
		return "", err
	}
	for _, line := range strings.Split(out.String(), "\n") {
		fields := strings.Fields(line)
		for i, f := range fields {
			if f != "build" || i == 0 || !strings.HasSuffix(fields[i-1], "go") {
				continue
			}
			// The package is the last argument that is not a flag value.
			for j := len(fields) - 1; j > i; j-- {
				a := strings.Trim(fields[j], `"'`)
				if strings.HasPrefix(a, "./") || strings.HasPrefix(a, "../") {
					return a, nil
				}
			}
		}
	}
	return "", fmt.Errorf("make -n %s prints no go build of a local package", target)
}

// MakeEnv is this process's environment without a parent make's flags
// (jobserver, -n, ...), which under `make run` must not leak into the
// makes the stack runs.
func MakeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" && k != "MAKEOVERRIDES" {
			env = append(env, kv)
		}
	}
	return env
}

// LambdaGOARCHVar is the make variable a makefile target may take its
// GOARCH from (GOARCH=$(LAMBDA_GOARCH), LAMBDA_GOARCH ?= arm64): the local
// stack sets it to this machine's architecture, so the bootstrap the
// target builds runs here.
const LambdaGOARCHVar = "LAMBDA_GOARCH"

// makeBuild builds a BuildMethod makefile function as `sam build` does:
// `make build-<LogicalId>` in its CodeUri directory with ARTIFACTS_DIR set
// (and LAMBDA_GOARCH to this machine's architecture); the target must leave
// ARTIFACTS_DIR/bootstrap, an executable for this machine.
func makeBuild(ctx context.Context, codeDir, id, artifacts string, log io.Writer) (string, error) {
	if err := os.RemoveAll(artifacts); err != nil {
		return "", fmt.Errorf("localstack: %w", err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		return "", fmt.Errorf("localstack: %w", err)
	}
	target := "build-" + id
	cmd := exec.CommandContext(ctx, "make", "-s", "--no-print-directory", target, "ARTIFACTS_DIR="+artifacts, LambdaGOARCHVar+"="+runtime.GOARCH)
	cmd.Dir = codeDir
	cmd.Env = MakeEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		_, _ = log.Write(out.Bytes())
		return "", fmt.Errorf("localstack: function %s (BuildMethod makefile): make %s in %s failed: %w\n%s", id, target, codeDir, err, out.String())
	}
	bin := filepath.Join(artifacts, "bootstrap")
	if err := checkRunnable(bin); err != nil {
		return "", fmt.Errorf("localstack: function %s: make %s in %s: %w", id, target, codeDir, err)
	}
	return bin, nil
}

// elfMachines are the ELF machines of the architectures Lambda runs.
var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// checkRunnable reports why bin is not an executable this machine runs.
func checkRunnable(bin string) error {
	st, err := os.Stat(bin)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("the target left no executable ARTIFACTS_DIR/bootstrap")
	}
	if runtime.GOOS != "linux" {
		return nil
	}
	f, err := elf.Open(bin)
	if err != nil {
		return nil // a script, say: let it run
	}
	defer f.Close()
	if want, ok := elfMachines[runtime.GOARCH]; ok && f.Machine != want {
		return fmt.Errorf("bootstrap is built for %s, and this machine is %s: let the target take GOARCH from $(%s) (%s ?= arm64), which the local stack sets to %s",
			f.Machine, runtime.GOARCH, LambdaGOARCHVar, LambdaGOARCHVar, runtime.GOARCH)
	}
	return nil
}

// goCodeURIPackage is the package a function of another template builds
// from when its BuildMethod is not makefile: its CodeUri, a Go main package
// in the module at modRoot.
func goCodeURIPackage(modRoot, tmplDir string, f *samtemplate.ServerlessFunction) (string, error) {
	codeDir := filepath.Join(tmplDir, filepath.FromSlash(f.CodeURI))
	if !isMainPackage(codeDir) {
		return "", fmt.Errorf("localstack: function %s: BuildMethod is %q, not makefile, and CodeUri %q (%s) is not a Go main package: nothing to build it with",
			f.LogicalID, f.BuildMethod, f.CodeURI, codeDir)
	}
	return relPackage(modRoot, modRoot, codeDir)
}

// relPackage renders pkg (relative to base, or absolute) as a ./ path
// relative to root.
func relPackage(root, base, pkg string) (string, error) {
	abs := pkg
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(base, pkg)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("package %s is outside %s", pkg, root)
	}
	return "./" + filepath.ToSlash(rel), nil
}

// isMainPackage reports whether dir holds Go files of package main.
func isMainPackage(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err == nil && (bytes.Contains(b, []byte("\npackage main")) || bytes.HasPrefix(b, []byte("package main"))) {
			return true
		}
	}
	return false
}

// buildFunctions builds every function for this machine, as
// <binDir>/<LogicalId>/bootstrap, with one `go build` (it shares work
// across packages), and returns the binaries by logical ID.
func buildFunctions(ctx context.Context, goCmd, repoRoot, binDir string, pkgs map[string]string, log io.Writer) (map[string]string, error) {
	ids := make([]string, 0, len(pkgs))
	for id := range pkgs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	staging := filepath.Join(binDir, ".staging")
	if err := os.RemoveAll(staging); err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	defer os.RemoveAll(staging)

	// go build -o DIR/ names each binary after its package's last element;
	// those must be distinct.
	byPkg := map[string][]string{}
	var list []string
	for _, id := range ids {
		p := pkgs[id]
		if _, seen := byPkg[p]; !seen {
			list = append(list, p)
		}
		byPkg[p] = append(byPkg[p], id)
	}
	names := map[string]string{}
	for _, p := range list {
		base := filepath.Base(p)
		if other, dup := names[base]; dup {
			return nil, fmt.Errorf("localstack: packages %s and %s have the same name; cannot build both in one go", other, p)
		}
		names[base] = p
	}
	args := append([]string{"build", "-tags", "lambda.norpc", "-o", staging + string(filepath.Separator)}, list...)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = repoRoot
	// The host's defaults (GOOS, GOARCH, CGO_ENABLED) share the build cache
	// with `go build ./...` and `go vet`, which makes this fast.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		_, _ = log.Write(out.Bytes())
		return nil, fmt.Errorf("localstack: go build of the functions failed: %w\n%s", err, out.String())
	}
	bins := map[string]string{}
	for _, p := range list {
		built := filepath.Join(staging, filepath.Base(p))
		for i, id := range byPkg[p] {
			dir := filepath.Join(binDir, id)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("localstack: %w", err)
			}
			dst := filepath.Join(dir, "bootstrap")
			src := built
			if i < len(byPkg[p])-1 {
				if err := copyFile(built, built+".copy"); err != nil {
					return nil, err
				}
				src = built + ".copy"
			}
			if err := os.Rename(src, dst); err != nil {
				return nil, fmt.Errorf("localstack: %w", err)
			}
			bins[id] = dst
		}
	}
	return bins, nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	return nil
}

// moduleRoot is the directory of the go.mod governing dir (dir itself when
// none is found).
func moduleRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
