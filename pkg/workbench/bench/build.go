package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// LambdaFlags are the Makefile's build flags for a Lambda bootstrap.
var LambdaFlags = []string{"-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w"}

// FloorPackage is the hello-world floor's package, relative to the repository.
const FloorPackage = "./pkg/workbench/bench/floor"

// Build builds pkg (relative to root) with LambdaFlags for goos/goarch into
// out and returns out.
func Build(ctx context.Context, root, pkg, goos, goarch, out string) (string, error) {
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
