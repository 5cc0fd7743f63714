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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/workbench/bench"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

type config struct {
	coldRuns               int
	coldOnly               string
	scaleKeys, scaleAudit  int
	memCached, memUncached int
	memUnknown             int
	memKeyCacheTTL         time.Duration
	lagRate                int
	lagFor                 time.Duration
	only                   string
}

func main() {
	var c config
	flag.IntVar(&c.coldRuns, "cold-runs", 15, "cold starts per function (and as many of the floor), alternating")
	flag.StringVar(&c.coldOnly, "cold-functions", "", "comma-separated functions whose cold start to measure (default: every function)")
	flag.IntVar(&c.scaleKeys, "keys", 100_000, "keys in the large tenant (list and name search)")
	flag.IntVar(&c.scaleAudit, "audit-records", 100_000, "audit records in the large tenant")
	flag.IntVar(&c.memCached, "mem-cached", 10_000, "cached authorizer invocations before the first RSS reading")
	flag.IntVar(&c.memUncached, "mem-uncached", 5_000, "uncached authorizer invocations (distinct keys)")
	flag.IntVar(&c.memUnknown, "mem-unknown", 60_000, "authorizer invocations with random unknown key IDs (the key cache holds 50,000)")
	flag.DurationVar(&c.memKeyCacheTTL, "mem-key-cache-ttl", 0, "the authorizer's KEY_CACHE_TTL in the memory run (default: the template's; 1m, the KeyCacheTtl parameter's maximum, lets the cache's 50,000-entry bound rather than its TTL limit it)")
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
	dir, err := os.MkdirTemp(tmpBase(), "keyward-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	want := func(g string) bool { return c.only == "" || c.only == g }
	var results []bench.Result
	var stepMu sync.Mutex
	step := func(what string) {
		stepMu.Lock()
		defer stepMu.Unlock()
		fmt.Printf("[%5.1fs] %s\n", time.Since(start).Seconds(), what)
	}

	if want("size") {
		step("binary sizes (linux/arm64, make build flags)")
		sized, err := bench.Functions(root)
		if err != nil {
			return results, err
		}
		rs, links, err := bench.Sizes(ctx, root, dir, sized, 8<<20)
		if err != nil {
			return results, err
		}
		for _, fn := range sized {
			fmt.Printf("  %-11s links %v\n", fn, links[fn])
		}
		results = append(results, rs...)
	}
	if c.only == "size" {
		return results, nil
	}

	step("building host binaries and starting the local stack")
	bins, err := hostBinaries(ctx, root, dir)
	if err != nil {
		return results, err
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
		rs, err := coldStarts(ctx, env, bins, root, c.coldRuns, c.coldOnly)
		results = append(results, rs...)
		if err != nil {
			return results, err
		}
	}
	// Memory and seeding are not timed: they run side by side. Everything
	// timed runs alone.
	var memRes []bench.Result
	memErr := make(chan error, 1)
	if want("memory") {
		go func() {
			var err error
			memRes, err = memory(ctx, env, bins, c, step)
			memErr <- err
		}()
	} else {
		memErr <- nil
	}
	var sc *scale
	if want("admin") {
		if sc, err = seed(ctx, env, root, c, step); err != nil {
			return results, err
		}
	}
	step("waiting for the memory run")
	if err := <-memErr; err != nil {
		return results, fmt.Errorf("memory: %w", err)
	}
	results = append(results, memRes...)
	if want("admin") {
		rs, err := admin(ctx, sc, c, step)
		results = append(results, rs...)
		if err != nil {
			return results, err
		}
	}
	if want("lag") {
		step(fmt.Sprintf("audit lag: %d creates/s for %s through the local stream poller", c.lagRate, c.lagFor))
		lag, err := env.Tenant(ctx, "bench-lag")
		if err != nil {
			return results, err
		}
		rs, err := env.AuditLag(ctx, lag, c.lagRate, c.lagFor)
		if err != nil {
			return results, err
		}
		results = append(results, rs...)
	}
	step("done")
	return results, nil
}

// hostBinaries builds the floor and every function for this machine with
// the Lambda build flags, for the cold-start and memory runs.
func hostBinaries(ctx context.Context, root, dir string) (map[string]string, error) {
	bins := map[string]string{}
	for _, fn := range append([]string{"floor"}, bench.ColdFunctions...) {
		pkg := "./functions/" + fn
		if fn == "floor" {
			pkg = bench.FloorPackage
		}
		var err error
		if bins[fn], err = bench.Build(ctx, root, pkg, runtime.GOOS, runtime.GOARCH, filepath.Join(dir, "host", fn)); err != nil {
			return nil, err
		}
	}
	return bins, nil
}

// coldStarts measures every function's cold start (or those of only, a
// comma-separated list) beside the floor, after one untimed run of each
// that warms the stack, then the authorizer's cold path step by step.
func coldStarts(ctx context.Context, env *bench.Env, bins map[string]string, root string, runs int, only string) ([]bench.Result, error) {
	cases, stop, err := env.ColdCases(ctx, bins, root, runs)
	if err != nil {
		return nil, err
	}
	defer stop()
	if only != "" {
		cases = slices.DeleteFunc(cases, func(cc bench.ColdCase) bool { return !slices.Contains(strings.Split(only, ","), cc.Name) })
	}
	if err := bench.WarmUp(ctx, cases, runs); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	var results []bench.Result
	for _, cc := range cases {
		rs, err := bench.ColdStart(ctx, bins["floor"], cc, runs)
		if err != nil {
			return results, err
		}
		fmt.Printf("  %s: %s (floor %s)\n", cc.Name, rs[0].Figure, rs[0].Floor)
		results = append(results, rs...)
	}
	rs, err := env.Breakdown(ctx, env.Admin.KeyID, runs)
	return append(results, rs...), err
}

// memory seeds the keys the authorizer's memory run needs and runs it.
func memory(ctx context.Context, env *bench.Env, bins map[string]string, c config, step func(string)) ([]bench.Result, error) {
	mem, err := env.Tenant(ctx, "bench-mem")
	if err != nil {
		return nil, err
	}
	tokens, err := env.SeedSharedSecret(ctx, mem, max(c.memUncached, 2))
	if err != nil {
		return nil, err
	}
	step(fmt.Sprintf("memory: %d cached, %d uncached, %d unknown-ID authorizer invocations", c.memCached, c.memUncached, c.memUnknown))
	plan := bench.MemoryPlan{Cached: c.memCached, Uncached: c.memUncached, Unknown: c.memUnknown, CacheBound: 50_000, KeyCacheTTL: c.memKeyCacheTTL, Limit: 48 << 20}
	return env.Memory(ctx, bins["authorizer"], bins["floor"], tokens, plan, func(s string) { step("memory: " + s) })
}

// scale is the seeded data of the admin-path measurements, in tables of
// their own.
type scale struct {
	env        *bench.Env
	big, small apikey.Caller
}

// seed writes the large and the small tenant's keys and the audit records.
func seed(ctx context.Context, stack *bench.Env, root string, c config, step func(string)) (*scale, error) {
	step(fmt.Sprintf("seeding %d keys in one tenant, 100 in another, %d audit records", c.scaleKeys, c.scaleAudit))
	env, err := stack.ScaleEnv(ctx, root)
	if err != nil {
		return nil, err
	}
	big, err := env.Tenant(ctx, "bench-big")
	if err != nil {
		return nil, err
	}
	small, err := env.Tenant(ctx, "bench-small")
	if err != nil {
		return nil, err
	}
	if err := env.SeedKeys(ctx, big, c.scaleKeys); err != nil {
		return nil, err
	}
	if err := env.SeedKeys(ctx, small, 100); err != nil {
		return nil, err
	}
	step("keys seeded")
	if err := env.SeedAudit(ctx, "bench-audit", c.scaleAudit); err != nil {
		return nil, err
	}
	step("audit records seeded")
	return &scale{env: env, big: big, small: small}, nil
}

// admin measures create, list and name search at scale and audit pages.
func admin(ctx context.Context, sc *scale, c config, step func(string)) ([]bench.Result, error) {
	env := sc.env
	var results []bench.Result
	step("create beside a bare TransactWriteItems of the same items")
	created, err := env.Create(ctx, 100)
	results = append(results, created...)
	if err != nil {
		return results, err
	}
	step("list and name-search pages of 50")
	for _, q := range []string{"", "bench"} {
		b, s, err := env.ListPages(ctx, sc.big, sc.small, q, 40)
		if err != nil {
			return results, err
		}
		name := fmt.Sprintf("list page of 50 at %dk keys", c.scaleKeys/1000)
		if q != "" {
			name = fmt.Sprintf("name search page of 50 at %dk keys", c.scaleKeys/1000)
		}
		results = append(results, bench.Result{Name: name, Figure: bench.Ms(b), Floor: bench.Ms(s) + " at 100",
			Ratio: float64(b) / float64(s), Target: "≤ 1.50", Pass: float64(b) <= 1.5*float64(s)})
	}
	step("audit pages of 50")
	rs, err := env.AuditPages(ctx, "bench-audit", 40)
	return append(results, rs...), err
}

// tmpBase is where the run's files go: memory (/dev/shm) when there is
// one, so DynamoDB Local's database is not written to disk.
func tmpBase() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return ""
}
