package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/keyward/keyward/pkg/workbench/localstack"
)

// LambdaFlags are the Makefile's base build flags for a Lambda bootstrap
// (GOFLAGS_LAMBDA), with which the floor is built.
var LambdaFlags = []string{"-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w"}

// FloorPackage is the hello-world floor's package, relative to the repository.
const FloorPackage = "./pkg/workbench/bench/floor"

// Build builds pkg (relative to root) for goos/goarch into out and returns
// out. A function (./functions/<name>) is built by the Makefile's
// function-<name> target, so with exactly the flags `make build` and
// `sam build` use for it; anything else with LambdaFlags.
func Build(ctx context.Context, root, pkg, goos, goarch, out string) (string, error) {
	if name, ok := strings.CutPrefix(pkg, "./functions/"); ok && !strings.Contains(name, "/") {
		return makeFunction(ctx, root, name, goos, goarch, out)
	}
	args := append([]string{"build"}, LambdaFlags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v: %s", pkg, err, b)
	}
	return out, nil
}

// makeFunction runs `make function-<name>` into a directory beside out and
// moves the bootstrap it leaves to out.
func makeFunction(ctx context.Context, root, name, goos, goarch, out string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(filepath.Dir(out), "make-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, "make", "-s", "--no-print-directory", "function-"+name,
		"OUT="+dir, "LAMBDA_GOOS="+goos, "LAMBDA_GOARCH="+goarch)
	cmd.Dir = root
	cmd.Env = localstack.MakeEnv()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make function-%s: %v: %s", name, err, b)
	}
	if err := os.Rename(filepath.Join(dir, "bootstrap"), out); err != nil {
		return "", err
	}
	return out, nil
}

// Links lists the module packages and AWS service clients pkg links, for
// the report ("what each links").
func Links(ctx context.Context, root, pkg string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-tags", "lambda.norpc", pkg)
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", pkg, err)
	}
	var out []string
	for _, p := range strings.Fields(string(b)) {
		switch {
		case strings.HasPrefix(p, "github.com/keyward/keyward/pkg/"):
			out = append(out, strings.TrimPrefix(p, "github.com/keyward/keyward/"))
		case strings.HasPrefix(p, "github.com/aws/aws-sdk-go-v2/service/") && !strings.Contains(strings.TrimPrefix(p, "github.com/aws/aws-sdk-go-v2/service/"), "/"):
			out = append(out, "sdk:"+strings.TrimPrefix(p, "github.com/aws/aws-sdk-go-v2/service/"))
		case p == "github.com/aws/aws-sdk-go-v2/config":
			out = append(out, "sdk:config")
		}
	}
	return out, nil
}

// Sizes builds every function and the floor for linux/arm64 with the
// Makefile's flags and reports each size against the floor and the limit.
func Sizes(ctx context.Context, root, dir string, functions []string, limit int64) ([]Result, map[string][]string, error) {
	floor, err := Build(ctx, root, FloorPackage, "linux", "arm64", filepath.Join(dir, "arm64", "floor"))
	if err != nil {
		return nil, nil, err
	}
	fs, err := os.Stat(floor)
	if err != nil {
		return nil, nil, err
	}
	var results []Result
	links := map[string][]string{}
	for _, fn := range functions {
		bin, err := Build(ctx, root, "./functions/"+fn, "linux", "arm64", filepath.Join(dir, "arm64", fn))
		if err != nil {
			return nil, nil, err
		}
		st, err := os.Stat(bin)
		if err != nil {
			return nil, nil, err
		}
		if links[fn], err = Links(ctx, root, "./functions/"+fn); err != nil {
			return nil, nil, err
		}
		results = append(results, Result{
			Name: "size " + fn, Figure: MiB(st.Size()), Floor: MiB(fs.Size()),
			Ratio: float64(st.Size()) / float64(fs.Size()), Target: "≤ " + MiB(limit), Pass: st.Size() <= limit,
		})
	}
	return results, links, nil
}
