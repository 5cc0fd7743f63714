// Command localstack is `make run`: the whole of keyward on this machine,
// driven by template.yaml (see package localstack). Ctrl-C or SIGTERM stops
// every process it started; a second signal exits at once (the children
// then die with it: they are started with a parent-death signal).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/keyward/keyward/pkg/workbench/localstack"
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

// readParamFile adds the parameters of a JSON file ({"Name": "value"}) to
// p: values with quotes and braces (RouteScopes) need no shell quoting there.
// Another template's parameters are "<stack>.Name" keys or an object under
// the stack's name ({"recordings": {"AuthorizerCacheTtl": 60}}). Flags given
// with -param win over the file.
func readParamFile(path string, p params) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: want a JSON object of parameter names to values: %v", path, err)
	}
	for k, v := range m {
		if nested, ok := v.(map[string]any); ok && !strings.Contains(k, ".") {
			for name, nv := range nested {
				if err := setParam(p, k+"."+name, nv); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			continue
		}
		if err := setParam(p, k, v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// setParam sets a parameter read from a file unless a flag set it.
func setParam(p params, k string, v any) error {
	if _, set := p[k]; set {
		return nil
	}
	switch x := v.(type) {
	case string:
		p[k] = x
	case float64, bool:
		p[k] = fmt.Sprint(x)
	default:
		return fmt.Errorf("parameter %s: want a string, number or boolean", k)
	}
	return nil
}

// list collects repeated flags.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	ps := params{}
	var apis list
	var (
		dir         = flag.String("dir", "", "data directory (default <repo>/.local)")
		apiPort     = flag.Int("api-port", localstack.DefaultAPIPort, "API Gateway emulator port on 127.0.0.1 (0: any free port)")
		lambdaPort  = flag.Int("lambda-port", localstack.DefaultLambdaPort, "Lambda Invoke and API Gateway management port on 127.0.0.1")
		kmsPort     = flag.Int("kms-port", localstack.DefaultKMSPort, "local KMS port on 127.0.0.1")
		ddbPort     = flag.Int("dynamodb-port", localstack.DefaultDynamoDBPort, "DynamoDB Local port on 127.0.0.1")
		tenant      = flag.String("tenant", localstack.DefaultTenant, "tenant bootstrapped on first start")
		concurrency = flag.Int("concurrency", 4, "processes per function, at most")
		verbose     = flag.Bool("v", false, "debug logs of the emulators")
		eventsPort  = flag.Int("events-port", localstack.DefaultEventsPort, "local EventBridge PutEvents port on 127.0.0.1 (events go to <dir>/events.jsonl)")
		paramFile   = flag.String("param-file", "", `JSON file of template parameters, {"Name": "value"} (-param wins)`)
	)
	flag.Var(&apis, "api", "another SAM template to serve beside keyward's, each API at its own base URL (repeatable)")
	flag.Var(ps, "param", "template parameter override Name=Value (repeatable), e.g. -param AuthorizerCacheTtl=0; another template's as <stack>.Name=Value, its stack being its directory's name, e.g. -param recordings.AuthorizerCacheTtl=0")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./scripts/localstack [flags]\n\nRuns keyward locally from template.yaml, and other SAM templates beside it (-api).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	dieWithParent()
	if *paramFile != "" {
		if err := readParamFile(*paramFile, ps); err != nil {
			fmt.Fprintln(os.Stderr, "keyward local: -param-file:", err)
			os.Exit(2)
		}
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := localstack.Start(ctx, localstack.Options{
		DataDir:        *dir,
		APIPort:        *apiPort,
		LambdaPort:     *lambdaPort,
		KMSPort:        *kmsPort,
		DynamoDBPort:   *ddbPort,
		Parameters:     ps,
		MaxConcurrency: *concurrency,
		Tenant:         *tenant,
		LogLevel:       level,
		EventsPort:     *eventsPort,
		APIs:           apis,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyward local:", err)
		os.Exit(1)
	}
	<-ctx.Done()
	stop() // a second signal now ends the process at once

	fmt.Fprintln(os.Stderr, "\nkeyward local: stopping…")
	done := make(chan error, 1)
	go func() { done <- st.Close() }()
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintln(os.Stderr, "keyward local: stop:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "keyward local: stopped")
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "keyward local: stop timed out")
		os.Exit(1)
	}
}
