package templatecheck

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// BuildCommand is what `make build-<LogicalId>` runs, the target `sam build`
// invokes for a function with Metadata BuildMethod: makefile.
type BuildCommand struct {
	// Command is the recipe as `make -n` prints it, with ARTIFACTS_DIR set
	// to ArtifactsDir.
	Command string
	// Package is the package it builds, e.g. "./functions/create" ("" when
	// the recipe names none).
	Package string
}

// ArtifactsDir is the ARTIFACTS_DIR BuildTarget passes to make.
const ArtifactsDir = "/templatecheck-artifacts"

var functionPackage = regexp.MustCompile(`(?:^|\s)(\./functions/[A-Za-z0-9_.-]+)/?(?:\s|$)`)

// BuildTarget dry-runs `make build-<logicalID>` in root (make -n: nothing is
// built) and returns what it would run.
func BuildTarget(root, logicalID string) (BuildCommand, error) {
	out, err := makeDryRun(root, "build-"+logicalID, "ARTIFACTS_DIR="+ArtifactsDir)
	if err != nil {
		return BuildCommand{}, err
	}
	bc := BuildCommand{Command: strings.TrimSpace(out)}
	if m := functionPackage.FindStringSubmatch(bc.Command); m != nil {
		bc.Package = m[1]
	}
	return bc, nil
}

// MakeVariable returns the value of a Makefile variable, e.g. FUNCTIONS.
func MakeVariable(root, name string) (string, error) {
	const target = "templatecheck-print-variable"
	out, err := makeDryRun(root, "--eval", fmt.Sprintf("%s: ; @echo $(%s)", target, name), target)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "echo")), nil
}

func makeDryRun(root string, args ...string) (string, error) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		return "", fmt.Errorf("templatecheck: make is needed to read the Makefile: %w", err)
	}
	cmd := exec.Command(makeBin, append([]string{"-s", "-n", "--no-print-directory"}, args...)...)
	cmd.Dir = root
	// Run as a fresh make, not as a sub-make of the `make test` running us.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" && k != "MAKEOVERRIDES" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("make -n %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
