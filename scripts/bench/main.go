// Command bench is `make bench`: it measures keyward beside floors measured
// in the same run and prints one summary table (figure, floor, ratio,
// target, pass/fail). It starts its own local stack (DynamoDB Local, the
// local KMS, the stream poller) in a temporary directory and stops it.
//
// Figures on a shared machine are noisy; the ratios are what to read.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"time"

	"github.com/keyward/keyward/pkg/workbench/bench"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

var functions = []string{"authorizer", "verify", "create", "list", "edit", "revoke", "audit", "auditstream"}

type config struct {
	coldRuns               int
	scaleKeys, scaleAudit  int
	memCached, memUncached int
	memUnknown             int
	lagRate                int
	lagFor                 time.Duration
	only                   string
}

func main() {
	var c config
	flag.IntVar(&c.coldRuns, "cold-runs", 15, "cold starts per function (and as many of the floor), alternating")
	flag.IntVar(&c.scaleKeys, "keys", 100_000, "keys in the large tenant (list and name search)")
	flag.IntVar(&c.scaleAudit, "audit-records", 100_000, "audit records in the large tenant")
	flag.IntVar(&c.memCached, "mem-cached", 100_000, "cached authorizer invocations before the first RSS reading")
	flag.IntVar(&c.memUncached, "mem-uncached", 10_000, "uncached authorizer invocations (distinct keys)")
	flag.IntVar(&c.memUnknown, "mem-unknown", 200_000, "authorizer invocations with random unknown key IDs")
	flag.IntVar(&c.lagRate, "lag-rate", 100, "key writes per second for the audit lag")
	flag.DurationVar(&c.lagFor, "lag-for", 10*time.Second, "how long the audit lag writes run")
	flag.StringVar(&c.only, "only", "", "run one group only: size, cold, admin, memory, lag")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	results, err := run(ctx, c)
	fmt.Println()
	bench.Print(os.Stdout, results)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if bench.Failed(results) {
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) ([]bench.Result, error) {
	start := time.Now()
	wd, _ := os.Getwd()
	tp, err := samtemplate.Find(wd)
	if err != nil {
		return nil, err
	}
	root := filepath.Dir(tp)
	dir, err := os.MkdirTemp("", "keyward-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	want := func(g string) bool { return c.only == "" || c.only == g }
	var results []bench.Result
	step := func(what string) { fmt.Printf("[%5.1fs] %s\n", time.Since(start).Seconds(), what) }

	if want("size") {
		step("binary sizes (linux/arm64, make build flags)")
		rs, links, err := bench.Sizes(ctx, root, dir, functions, 8<<20)
		if err != nil {
			return results, err
		}
		for _, fn := range functions {
			fmt.Printf("  %-11s links %v\n", fn, links[fn])
		}
		results = append(results, rs...)
	}
	if c.only == "size" {
		return results, nil
	}

	step("building host binaries and starting the local stack")
	bins := map[string]string{}
	for _, fn := range append([]string{"floor"}, functions...) {
		pkg := "./functions/" + fn
		if fn == "floor" {
			pkg = bench.FloorPackage
		}
		if bins[fn], err = bench.Build(ctx, root, pkg, runtime.GOOS, runtime.GOARCH, filepath.Join(dir, "host", fn)); err != nil {
			return results, err
		}
	}
	logs, err := os.Create(filepath.Join(os.TempDir(), "keyward-bench-stack.log"))
	if err != nil {
		return results, err
	}
	defer logs.Close()
	env, err := bench.Start(ctx, root, filepath.Join(dir, "stack"), logs)
	if err != nil {
		return results, fmt.Errorf("local stack (log %s): %w", logs.Name(), err)
	}
	defer env.Close()

	if want("cold") {
		step(fmt.Sprintf("cold starts: %d alternating runs per function", c.coldRuns))
		cases, err := env.ColdCases(ctx, bins, root, c.coldRuns)
		if err != nil {
			return results, err
		}
		for _, cc := range cases {
			rs, err := bench.ColdStart(ctx, bins["floor"], cc, c.coldRuns)
			if err != nil {
				return results, err
			}
			fmt.Printf("  %s: %s (floor %s)\n", cc.Name, rs[0].Figure, rs[0].Floor)
			results = append(results, rs...)
		}
	}
	step("done")
	return results, nil
}
