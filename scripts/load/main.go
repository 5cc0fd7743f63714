// Command load is `make load`: it starts the whole local stack (as `make
// run` does, from template.yaml, on free 127.0.0.1 ports with a fresh data
// directory, authorizer caching at the template's defaults) and drives it
// through the gateway with many concurrent clients mixing create, list,
// verify (POST /v1/verify, and GET /v1/whoami authenticated by the keys the
// run created), rotate, revoke and batch revoke, bounded by a duration and
// an operation count. Every write is made with the bootstrapped tenant's
// admin token; the created keys hold keys:read and keys:verify.
//
// It then prints the figures (requests, status histogram and latency
// percentiles per kind of operation) and checks, exiting 1 if one fails:
//
//   - no response had a 5xx status (nor went unanswered);
//   - every key created (201) is listed by GET /v1/keys, exactly once;
//   - every token ever issued for a revoked key gets 401 at the gateway
//     within 5 s, and POST /v1/verify says REVOKED;
//   - once the stream poller has drained, GET /v1/audit holds exactly one
//     key.created per create, one key.rotated per rotation answered 200 and
//     one key.revoked per revoked key;
//   - no outcome contradicted what the client knew of its own keys (a 401
//     for an active key, VALID for a revoked one, ...);
//   - no secret issued during the run appears in the stack's logs.
//
// It is minutes long, so `make test` never runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keyward/keyward/pkg/workbench/lambdaemu"
	"github.com/keyward/keyward/pkg/workbench/localstack"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// params collects repeated -param Name=Value flags.
type params map[string]string

func (p params) String() string { return fmt.Sprint(map[string]string(p)) }

func (p params) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want Name=Value, got %q", s)
	}
	p[k] = v
	return nil
}

// queueWarning is a call's time past which the report says how close it
// came to API Gateway's integration timeout.
const queueWarning = 20 * time.Second

// config is the run's settings, from the flags.
type config struct {
	clients     int
	duration    time.Duration
	maxOps      int64
	concurrency int
	auditWait   time.Duration
	ramp        time.Duration
	seed        uint64
	keep        bool
	params      params
}

func main() {
	cfg := config{params: params{}}
	flag.IntVar(&cfg.clients, "clients", 200, "concurrent clients")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "how long clients start new operations")
	flag.Int64Var(&cfg.maxOps, "ops", 50000, "operations at most, over all clients")
	flag.IntVar(&cfg.concurrency, "concurrency", lambdaemu.DefaultMaxConcurrency, "processes per function, at most (as make run's -concurrency)")
	flag.DurationVar(&cfg.ramp, "ramp", -1, "clients start evenly over this time (default: a sixth of -duration, at most 10s)")
	flag.DurationVar(&cfg.auditWait, "audit-wait", 2*time.Minute, "how long to wait for the stream poller to write every audit record")
	flag.Uint64Var(&cfg.seed, "seed", 0, "seed of the operation mix (0: from the clock)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the data directory and the stack's log even when every check passes")
	flag.Var(cfg.params, "param", "template parameter override Name=Value (repeatable)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./scripts/load [flags]\n\nStarts the local stack and puts it under load through the gateway, then checks the outcome.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if cfg.clients < 1 || cfg.duration <= 0 || cfg.maxOps < 1 || cfg.concurrency < 1 {
		fmt.Fprintln(os.Stderr, "load: -clients, -duration, -ops and -concurrency must be positive")
		os.Exit(2)
	}
	if cfg.ramp < 0 {
		cfg.ramp = min(cfg.duration/6, 10*time.Second).Round(100 * time.Millisecond)
	}
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	dieWithParent()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	passed, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if !passed {
		os.Exit(1)
	}
}

// run starts the stack, runs the load and the checks, and reports whether
// every check passed; err is for a run that could not be made.
func run(ctx context.Context, cfg config, out io.Writer) (passed bool, err error) {
	dir, err := os.MkdirTemp("", "keyward-load-")
	if err != nil {
		return false, err
	}
	logPath := filepath.Join(dir, "stack.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return false, err
	}
	defer func() {
		_ = logFile.Close()
		if passed && !cfg.keep {
			_ = os.RemoveAll(dir)
		} else {
			fmt.Fprintf(out, "\nThe stack's log and data are kept in %s\n", dir)
		}
	}()
	logs := &lockedWriter{w: logFile}

	t0 := time.Now()
	st, adminToken, err := startStack(ctx, cfg, out, dir, logs, logPath)
	if err != nil {
		return false, err
	}
	defer func() {
		if err := st.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "load: stop the stack:", err)
		}
	}()
	a, err := newAPI(st.APIURL, cfg.clients)
	if err != nil {
		return false, err
	}
	who := a.do(ctx, http.MethodGet, "/v1/whoami", bearer(adminToken), nil)
	if who.err != nil || who.status != http.StatusOK {
		return false, fmt.Errorf("the admin token is refused: status %d %v", who.status, who.err)
	}
	fmt.Fprintf(out, "load: %d clients (starting over %v) for %v or %d operations, whichever ends first (seed %d, %d CPUs)…\n",
		cfg.clients, cfg.ramp, cfg.duration, cfg.maxOps, cfg.seed, runtime.NumCPU())

	w, clients, wall, meanInFlight := drive(ctx, cfg, a, adminToken)
	if ctx.Err() != nil {
		return false, errors.New("interrupted")
	}
	var samples []sample
	for _, c := range clients {
		samples = append(samples, c.samples...)
	}
	reportLoad(out, cfg, w, a, samples, wall, meanInFlight)

	// The checks.
	t2 := time.Now()
	keys := w.allKeys()
	ch := newChecker(w)
	checks := []check{
		ch.checkListed(ctx, keys),
		ch.checkRevoked(ctx, keys),
		ch.checkAudit(ctx, keys, cfg.auditWait),
	}
	if ctx.Err() != nil {
		return false, errors.New("interrupted")
	}
	fmt.Fprintf(out, "\nchecks: %v, their own requests:\n\n", time.Since(t2).Round(100*time.Millisecond))
	printTable(out, summarize(ch.c.samples), []kind{opCheck})

	checks = append([]check{serverErrorCheck(w)}, checks...)
	checks = append(checks, unexpectedCheck(w), checkLogs(logPath, keys, adminToken))
	passed = printChecks(out, checks)
	fmt.Fprintf(out, "\nload: total wall time %v (stack start %v, load %v, checks %v)\n",
		time.Since(t0).Round(100*time.Millisecond), st.startup.Round(100*time.Millisecond), wall.Round(100*time.Millisecond), time.Since(t2).Round(100*time.Millisecond))
	return passed, nil
}

// stack is the started local stack and how long it took to start.
type stack struct {
	*localstack.Stack
	startup time.Duration
}

// startStack starts the local stack from the repository's template, its log
// going to logs, and reads the admin token it bootstrapped.
func startStack(ctx context.Context, cfg config, out io.Writer, dir string, logs io.Writer, logPath string) (*stack, string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, "", err
	}
	tmplPath, err := samtemplate.Find(wd)
	if err != nil {
		return nil, "", err
	}
	tmpl, err := samtemplate.Load(tmplPath)
	if err != nil {
		return nil, "", err
	}
	values := tmpl.ParameterValues(cfg.params)

	fmt.Fprintf(out, "load: starting the local stack (data and log in %s)…\n", dir)
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	ls, err := localstack.Start(startCtx, localstack.Options{
		RepoRoot:       filepath.Dir(tmplPath),
		DataDir:        filepath.Join(dir, "data"),
		Parameters:     cfg.params,
		MaxConcurrency: cfg.concurrency,
		Output:         logs,
		Terminal:       io.Discard, // the token is read from its file
		LogLevel:       slog.LevelInfo,
	})
	if err != nil {
		return nil, "", fmt.Errorf("the local stack did not start (log: %s): %w", logPath, err)
	}
	st := &stack{Stack: ls, startup: time.Since(t0)}
	raw, err := os.ReadFile(st.TokenFile)
	if err != nil {
		_ = st.Close()
		return nil, "", err
	}
	fmt.Fprintf(out, "load: stack up in %v: API %s, DynamoDB Local %s, KMS %s; AuthorizerCacheTtl=%ss KeyCacheTtl=%ss; up to %d processes per function\n",
		st.startup.Round(100*time.Millisecond), st.APIURL, st.DynamoDBURL, st.KMSURL, values["AuthorizerCacheTtl"], values["KeyCacheTtl"], cfg.concurrency)
	return st, strings.TrimSpace(string(raw)), nil
}

// drive runs the load: the clients start evenly over the ramp (the first
// thing each does is create a key: 200 creates at one instant would measure
// the queue, not the service), then all run at once, and stop starting
// operations at the deadline or after maxOps; operations under way finish (a
// write cut off would leave the checks guessing). It returns the workload,
// the clients (with their samples), the wall time and the mean number of
// requests in flight.
func drive(ctx context.Context, cfg config, a *api, adminToken string) (*workload, []*client, time.Duration, float64) {
	t1 := time.Now()
	w := newWorkload(ctx, a, adminToken, t1.Add(cfg.duration), cfg.maxOps)
	clients := make([]*client, cfg.clients)
	for i := range clients {
		clients[i] = newClient(i, w, cfg.seed)
	}
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, c := range clients {
		delay := cfg.ramp * time.Duration(i) / time.Duration(len(clients))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			time.Sleep(delay)
			c.run()
		}()
	}
	sampling := make(chan struct{})
	var inFlightSum, inFlightN int64
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sampling:
				return
			case <-tick.C:
				inFlightSum += a.inFlight.Load()
				inFlightN++
			}
		}
	}()
	close(gate)
	wg.Wait()
	sampling <- struct{}{}
	wall := time.Since(t1)
	meanInFlight := 0.0
	if inFlightN > 0 {
		meanInFlight = float64(inFlightSum) / float64(inFlightN)
	}
	return w, clients, wall, meanInFlight
}

// reportLoad prints the load's throughput and its latency table.
func reportLoad(out io.Writer, cfg config, w *workload, a *api, samples []sample, wall time.Duration, meanInFlight float64) {
	stopped := "duration"
	if w.started.Load() > cfg.maxOps {
		stopped = "operation count"
	}
	fmt.Fprintf(out, "\nload: %d requests in %v (stopped by the %s): %.1f requests/s; in flight: at most %d, on average %.1f\n\n",
		len(samples), wall.Round(10*time.Millisecond), stopped, float64(len(samples))/wall.Seconds(), a.maxInFlight.Load(), meanInFlight)
	printTable(out, summarize(samples), kinds)
	var slowest time.Duration
	for _, s := range samples {
		slowest = max(slowest, s.dur)
	}
	if slowest > queueWarning {
		fmt.Fprintf(out, "\nnote: the slowest call took %v, near the gateway's 29 s integration timeout: calls beyond a function's %d processes wait in the Lambda emulator's queue, and that wait counts\n",
			slowest.Round(100*time.Millisecond), cfg.concurrency)
	}
}

// printChecks prints each check's verdict and reports whether all passed.
func printChecks(out io.Writer, checks []check) bool {
	fmt.Fprintln(out)
	passed := true
	for _, c := range checks {
		verdict := "PASS"
		if !c.ok {
			verdict, passed = "FAIL", false
		}
		fmt.Fprintf(out, "%s  %s: %s\n", verdict, c.name, c.detail)
		for _, n := range c.notes {
			fmt.Fprintf(out, "        %s\n", n)
		}
	}
	return passed
}

// serverErrorCheck: no response had a 5xx status, and every request got a
// response.
func serverErrorCheck(w *workload) check {
	c := check{name: "0 responses with status 5xx", ok: true}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.serverErrors {
		if e.err != "" {
			c.fail("%s %s %s: no response: %s", e.kind, e.method, e.route, e.err)
		} else {
			c.fail("%s %s %s: %d (gateway request %s) %s", e.kind, e.method, e.route, e.status, e.requestID, e.body)
		}
	}
	c.ok = w.nServerErrs == 0
	c.detail = fmt.Sprintf("%d 5xx or unanswered, load and checks together", w.nServerErrs)
	return c
}

// unexpectedCheck: no outcome contradicted what a client knew of its own
// keys.
func unexpectedCheck(w *workload) check {
	c := check{name: "no unexpected outcome", ok: true}
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	var parts []string
	for _, k := range kinds {
		if w.nUnexpected[k] > 0 {
			n += w.nUnexpected[k]
			parts = append(parts, fmt.Sprintf("%s %d", k, w.nUnexpected[k]))
		}
	}
	for _, u := range w.unexpected {
		c.fail("%s", u)
	}
	c.ok = n == 0
	c.detail = fmt.Sprintf("%d (%s)", n, strings.Join(parts, ", "))
	if n == 0 {
		c.detail = "0: every status and verify code matched the client's own keys' state"
	}
	return c
}

// lockedWriter serialises writes to the stack's log.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
