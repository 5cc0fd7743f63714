// Package localstack runs the whole of keyward on one machine, driven by
// template.yaml the way `sam local` would be, without Docker: real DynamoDB
// Local with the template's tables, a local KMS endpoint with the
// template's keys, every function built for this machine and run as its
// real bootstrap binary behind a Lambda Runtime API emulator (lambdaemu),
// the REST API with its Lambda authorizer and gateway responses
// (gatewayemu), a Lambda Invoke and API Gateway management endpoint, and a
// poller for every DynamoDB stream event (streampoller). On first start it
// creates the pepper and bootstraps a tenant, printing its admin token once.
//
// Every listener it starts is bound to 127.0.0.1: the API, the Lambda
// endpoint, the local KMS, each function's Runtime API, and DynamoDB Local
// (whose own main binds every interface; package ddblocal starts it bound to
// loopback instead). Data lives in the data directory (.local/ by default,
// created 0700) and survives restarts: DynamoDB's files, the KMS key file,
// stream checkpoints, the admin token and the built binaries. Every file that
// holds a token or key material is mode 0600.
// Close stops every process it started; on Linux they also die with it.
package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/gatewayemu"
	"github.com/keyward/keyward/pkg/workbench/lambdaemu"
	"github.com/keyward/keyward/pkg/workbench/localkms"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
	"github.com/keyward/keyward/pkg/workbench/streampoller"

	"github.com/keyward/keyward/pkg/workbench/localstate"
)

// Default ports of `make run` (the command's flag defaults; a zero port in
// Options picks a free one).
const (
	DefaultAPIPort      = 3000
	DefaultLambdaPort   = 3001
	DefaultKMSPort      = 3002
	DefaultDynamoDBPort = 8000
)

// DefaultTenant is the tenant bootstrapped on first start.
const DefaultTenant = "local"

// Files in the data directory.
const (
	AdminTokenFile = "admin-token"   // the bootstrapped tenant's token, 0600
	StateFile      = localstate.File // endpoints of the running stack, for tools
	kmsFile        = "kms.json"      // local KMS key material, 0600
	lockFile       = "run.lock"
)

// bootstrapActor is recorded as the creator of the bootstrapped key.
const bootstrapActor = "system:bootstrap"

// Options configure Start.
type Options struct {
	// RepoRoot holds template.yaml, the Makefile and functions/; empty
	// means the directory of the template.yaml found from the working
	// directory upwards.
	RepoRoot string
	// DataDir holds everything that persists; empty means RepoRoot/.local.
	DataDir string
	// Ports on 127.0.0.1; 0 picks a free port.
	APIPort      int
	LambdaPort   int
	KMSPort      int
	DynamoDBPort int
	// Parameters override the template's parameter defaults.
	Parameters map[string]string
	// MaxConcurrency bounds each function's processes (default 4).
	MaxConcurrency int
	// Tenant is bootstrapped on first start (default "local"); its token
	// goes to DataDir/admin-token and, once, to Terminal.
	Tenant string
	// Output receives the logs of every component, one prefix each
	// (default os.Stderr). Secrets never reach it.
	Output io.Writer
	// Terminal receives the start-up summary and, on first start, the
	// admin token (default os.Stdout).
	Terminal io.Writer
	// LogLevel is the level of the stack's own logs (default INFO).
	LogLevel slog.Level
	// GoCmd builds the functions (default "go").
	GoCmd string
}

// Stack is a running local keyward.
type Stack struct {
	// APIURL is the REST API's base URL (no stage prefix, as sam local).
	APIURL string
	// LambdaURL serves Lambda Invoke and the API Gateway management calls.
	LambdaURL string
	// DynamoDBURL and KMSURL are the data endpoints.
	DynamoDBURL string
	KMSURL      string
	// APIID and Stage identify the API (requestContext, method ARNs).
	APIID string
	Stage string
	// DataDir is the data directory; TokenFile the admin token's file.
	DataDir   string
	TokenFile string
	// Tables maps table logical IDs to names; KMSKeys KMS key logical IDs
	// to ARNs; Functions lists the functions by logical ID.
	Tables    map[string]string
	KMSKeys   map[string]string
	Functions []string
	// Bootstrapped reports whether this start created the tenant.
	Bootstrapped bool

	console   *console
	log       *slog.Logger
	functions map[string]*lambdaemu.Function
	closers   []func() error // run in reverse order by Close
	closeOnce sync.Once
	closeErr  error
}

// Start brings the stack up and returns once the API serves. ctx bounds
// the start only; the stack runs until Close.
func Start(ctx context.Context, opts Options) (st *Stack, err error) {
	if opts.RepoRoot == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("localstack: %w", err)
		}
		p, err := samtemplate.Find(wd)
		if err != nil {
			return nil, fmt.Errorf("localstack: %w", err)
		}
		opts.RepoRoot = filepath.Dir(p)
	}
	root, err := filepath.Abs(opts.RepoRoot)
	if err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(root, ".local")
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	if opts.Output == nil {
		opts.Output = os.Stderr
	}
	if opts.Terminal == nil {
		opts.Terminal = os.Stdout
	}
	if opts.Tenant == "" {
		opts.Tenant = DefaultTenant
	}
	if opts.GoCmd == "" {
		opts.GoCmd = "go"
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = lambdaemu.DefaultMaxConcurrency
	}
	con := &console{out: opts.Output}
	st = &Stack{
		DataDir:   dataDir,
		TokenFile: filepath.Join(dataDir, AdminTokenFile),
		console:   con,
		log:       con.logger("stack", opts.LogLevel),
		functions: map[string]*lambdaemu.Function{},
		Tables:    map[string]string{},
		KMSKeys:   map[string]string{},
	}
	defer func() {
		if err != nil {
			_ = st.Close()
			st = nil
		}
	}()

	tmpl, err := samtemplate.Load(filepath.Join(root, samtemplate.FileName))
	if err != nil {
		return st, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return st, fmt.Errorf("localstack: %w", err)
	}
	unlock, err := lockDir(filepath.Join(dataDir, lockFile))
	if err != nil {
		return st, fmt.Errorf("localstack: %s is in use by another local stack (stop it first): %w", dataDir, err)
	}
	st.closers = append(st.closers, func() error { unlock(); return nil })

	// Bind the HTTP ports first: a port in use fails before anything slow.
	apiLn, err := listen(opts.APIPort, "API")
	if err != nil {
		return st, err
	}
	st.closers = append(st.closers, apiLn.Close)
	ctlLn, err := listen(opts.LambdaPort, "Lambda")
	if err != nil {
		return st, err
	}
	st.closers = append(st.closers, ctlLn.Close)
	st.APIURL = "http://" + apiLn.Addr().String()
	st.LambdaURL = "http://" + ctlLn.Addr().String()

	fns, err := tmpl.ServerlessFunctions(opts.Parameters)
	if err != nil {
		return st, err
	}
	apis, err := tmpl.ServerlessAPIs(opts.Parameters)
	if err != nil {
		return st, err
	}

	// DynamoDB Local and the build take seconds each: run them together.
	var (
		wg       sync.WaitGroup
		ddb      *ddblocal.Instance
		ddbErr   error
		bins     map[string]string
		buildErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		ddb, ddbErr = startDynamoDB(ctx, root, dataDir, opts.DynamoDBPort, con)
	}()
	go func() {
		defer wg.Done()
		bins, buildErr = st.build(ctx, opts.GoCmd, root, dataDir, fns)
	}()
	wg.Wait()
	if ddb != nil {
		st.closers = append(st.closers, ddb.Stop)
	}
	if err := errors.Join(ddbErr, buildErr); err != nil {
		return st, err
	}
	st.DynamoDBURL = ddb.Endpoint

	// KMS: one key per AWS::KMS::Key, the same key on every start.
	kmsSrv, err := localkms.New(localkms.WithFile(filepath.Join(dataDir, kmsFile)), localkms.WithRegion(Region), localkms.WithAccount(Account))
	if err != nil {
		return st, err
	}
	for id := range tmpl.ResourcesOfType("AWS::KMS::Key") {
		arn, err := kmsSrv.EnsureKey("alias/keyward-local/" + id)
		if err != nil {
			return st, err
		}
		st.KMSKeys[id] = arn
	}
	kmsURL, stopKMS, err := kmsSrv.Start(addr(opts.KMSPort))
	if err != nil {
		return st, err
	}
	st.closers = append(st.closers, stopKMS)
	st.KMSURL = kmsURL

	// Tables, and their streams for the pollers and StreamArn references.
	client := ddblocal.Client(ddb.Endpoint)
	tables, err := ddblocal.CreateTables(ctx, client, tmpl, nil)
	if err != nil {
		return st, err
	}
	st.Tables = tables
	streams := map[string]string{}
	for id, name := range tables {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return st, fmt.Errorf("localstack: describe table %s: %w", name, err)
		}
		if s := aws.ToString(out.Table.LatestStreamArn); s != "" {
			streams[id] = s
		}
	}

	// The API this stack serves: the one with routes.
	api, err := pickAPI(apis, fns)
	if err != nil {
		return st, err
	}
	apiIDs := map[string]string{}
	for id := range apis {
		apiIDs[id] = apiID(id)
	}
	values := refs(tmpl, opts.Parameters, tables, streams, st.KMSKeys, apiIDs)

	// Functions.
	base := map[string]string{
		"AWS_REGION":                        Region,
		"AWS_DEFAULT_REGION":                Region,
		"AWS_ACCESS_KEY_ID":                 "local",
		"AWS_SECRET_ACCESS_KEY":             "local",
		"AWS_EC2_METADATA_DISABLED":         "true",
		"AWS_CONFIG_FILE":                   os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE":       os.DevNull,
		"AWS_ENDPOINT_URL_DYNAMODB":         ddb.Endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB_STREAMS": ddb.Endpoint,
		"AWS_ENDPOINT_URL_KMS":              kmsURL,
		"AWS_ENDPOINT_URL_API_GATEWAY":      st.LambdaURL,
		"AWS_ENDPOINT_URL_LAMBDA":           st.LambdaURL,
	}
	envs := map[string]map[string]string{}
	for _, id := range sortedKeys(fns) {
		f := fns[id]
		env, skipped := functionEnv(f, values)
		for _, k := range sortedKeys(skipped) {
			st.log.Warn("environment variable not set: its value cannot be resolved locally", "function", id, "variable", k, "error", skipped[k].Error())
		}
		if v, ok := env["API_ID"]; ok && v == "" && api != nil {
			env["API_ID"] = apiIDs[api.LogicalID] // for events that name no API
		}
		for k, v := range base {
			env[k] = v
		}
		if f.LogFormat != "" {
			env["AWS_LAMBDA_LOG_FORMAT"] = f.LogFormat
		}
		if f.ApplicationLogLevel != "" {
			env["AWS_LAMBDA_LOG_LEVEL"] = f.ApplicationLogLevel
		}
		envs[id] = env
		fn, err := lambdaemu.Start(lambdaemu.Config{
			Name:           id,
			Path:           bins[id],
			Env:            envList(env),
			Timeout:        time.Duration(f.Timeout) * time.Second,
			MemoryMB:       f.MemorySize,
			MaxConcurrency: opts.MaxConcurrency,
			Region:         Region,
			Account:        Account,
			Output:         lineWriter{c: con, prefix: []byte("[" + id + "] ")},
			Logger:         con.logger("lambda", opts.LogLevel),
		})
		if err != nil {
			return st, err
		}
		st.functions[id] = fn
		st.Functions = append(st.Functions, id)
		st.closers = append(st.closers, fn.Close)
	}
	invoke := func(ctx context.Context, name string, payload []byte) ([]byte, bool, error) {
		fn := st.functions[name]
		if fn == nil {
			return nil, false, fmt.Errorf("no function %s", name)
		}
		res, err := fn.Invoke(ctx, payload)
		if err != nil {
			return nil, false, err
		}
		return res.Payload, res.FunctionError != "", nil
	}

	// The API stage.
	var gateways []*gatewayemu.Gateway
	if api != nil {
		gw, err := newGateway(api, apiIDs[api.LogicalID], fns, st.functions, invoke, con.logger("api", opts.LogLevel))
		if err != nil {
			return st, err
		}
		gateways = append(gateways, gw)
		st.APIID, st.Stage = gw.APIID(), gw.Stage()
		st.serve(apiLn, gw)
	} else {
		st.log.Warn("the template has no API events: nothing served on the API port")
	}

	// Lambda Invoke and API Gateway management.
	asyncCtx, cancelAsync := context.WithCancel(context.Background())
	st.closers = append(st.closers, func() error { cancelAsync(); return nil })
	mux := http.NewServeMux()
	(&lambdaemu.InvokeAPI{
		Lookup: func(name string) *lambdaemu.Function { return st.functions[name] },
		List: func() []*lambdaemu.Function {
			fs := make([]*lambdaemu.Function, 0, len(st.Functions))
			for _, id := range st.Functions {
				fs = append(fs, st.functions[id])
			}
			return fs
		},
		Async: asyncCtx,
	}).Register(mux)
	(&gatewayemu.ManagementAPI{Gateways: gateways}).Register(mux)
	st.serve(ctlLn, mux)

	// Stream event sources.
	if err := st.startPollers(fns, streams, values, dataDir, ddb.Endpoint, invoke, con.logger("stream", opts.LogLevel)); err != nil {
		return st, err
	}

	// Pepper and tenant.
	token, err := st.bootstrap(ctx, envs, ddb.Endpoint, kmsURL, opts.Tenant)
	if err != nil {
		return st, err
	}
	if err := st.writeState(envs); err != nil {
		return st, err
	}
	st.banner(opts.Terminal, token, opts.Tenant)
	return st, nil
}

// Close stops everything Start started, in reverse order, and removes the
// state file. It is safe to call more than once.
func (st *Stack) Close() error {
	st.closeOnce.Do(func() {
		var errs []error
		for i := len(st.closers) - 1; i >= 0; i-- {
			if err := st.closers[i](); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
				errs = append(errs, err)
			}
		}
		st.closers = nil
		st.closeErr = errors.Join(errs...)
	})
	return st.closeErr
}

// Function returns a running function by logical ID, or nil.
func (st *Stack) Function(name string) *lambdaemu.Function { return st.functions[name] }

// serve serves h on ln until Close (which shuts it down, letting requests
// in flight finish for up to 5 s).
func (st *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	st.closers = append(st.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		<-done
		return err
	})
}

// build finds and builds every function's package.
func (st *Stack) build(ctx context.Context, goCmd, root, dataDir string, fns map[string]*samtemplate.ServerlessFunction) (map[string]string, error) {
	pkgs := map[string]string{}
	for _, id := range sortedKeys(fns) {
		p, err := PackageDir(ctx, root, fns[id])
		if err != nil {
			return nil, err
		}
		pkgs[id] = p
	}
	start := time.Now()
	bins, err := buildFunctions(ctx, goCmd, root, filepath.Join(dataDir, "bin"), pkgs, st.console.prefixed("build"))
	if err != nil {
		return nil, err
	}
	st.log.Info("functions built", "count", len(bins), "seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()))
	return bins, nil
}

func startDynamoDB(ctx context.Context, root, dataDir string, port int, con *console) (*ddblocal.Instance, error) {
	jarDir, err := ddblocal.Install(root)
	if err != nil {
		return nil, err
	}
	return ddblocal.Start(ctx, ddblocal.Options{
		Dir:    jarDir,
		Port:   port,
		DBPath: filepath.Join(dataDir, "dynamodb"),
		Stdout: con.prefixed("dynamodb"),
	})
}

// pickAPI returns the one API that has routes (nil when none has).
func pickAPI(apis map[string]*samtemplate.ServerlessAPI, fns map[string]*samtemplate.ServerlessFunction) (*samtemplate.ServerlessAPI, error) {
	used := map[string]bool{}
	for _, f := range fns {
		for _, e := range f.APIEvents {
			used[e.API] = true
		}
	}
	var withRoutes []string
	for id := range used {
		withRoutes = append(withRoutes, id)
	}
	sort.Strings(withRoutes)
	switch len(withRoutes) {
	case 0:
		return nil, nil
	case 1:
		api := apis[withRoutes[0]]
		if api == nil {
			return nil, fmt.Errorf("localstack: Api events name %s, which is not an AWS::Serverless::Api of the template", withRoutes[0])
		}
		return api, nil
	default:
		return nil, fmt.Errorf("localstack: routes belong to several APIs (%s); the local stack serves one", strings.Join(withRoutes, ", "))
	}
}

// newGateway builds the API stage from the template.
func newGateway(api *samtemplate.ServerlessAPI, id string, fns map[string]*samtemplate.ServerlessFunction, running map[string]*lambdaemu.Function, invoke gatewayemu.InvokeFunc, log *slog.Logger) (*gatewayemu.Gateway, error) {
	cfg := gatewayemu.Config{
		APIID:            id,
		Stage:            api.StageName,
		Region:           Region,
		Account:          Account,
		Authorizers:      map[string]gatewayemu.Authorizer{},
		GatewayResponses: map[string]gatewayemu.GatewayResponse{},
		Invoke:           invoke,
		Logger:           log,
	}
	for name, a := range api.Authorizers {
		if running[a.Function] == nil {
			return nil, fmt.Errorf("localstack: authorizer %s names function %s, which the template does not define", name, a.Function)
		}
		cfg.Authorizers[name] = gatewayemu.Authorizer{
			Function: a.Function, Type: a.PayloadType, Headers: a.Headers, QueryStrings: a.QueryStrings, Context: a.Context,
			TTL: time.Duration(a.ReauthorizeEvery) * time.Second,
		}
	}
	for typ, gr := range api.GatewayResponses {
		cfg.GatewayResponses[typ] = gatewayemu.GatewayResponse{StatusCode: gr.StatusCode, Templates: gr.Templates, Headers: gr.Headers}
	}
	for _, fid := range sortedKeys(fns) {
		for _, e := range fns[fid].APIEvents {
			if e.API != api.LogicalID {
				continue
			}
			auth := e.Authorizer
			if auth == "" {
				auth = api.DefaultAuthorizer
			}
			cfg.Routes = append(cfg.Routes, gatewayemu.Route{Method: e.Method, Path: e.Path, Function: fid, Authorizer: auth})
		}
	}
	return gatewayemu.New(cfg)
}

// startPollers starts an event source mapping for every DynamoDB stream
// event of the template.
func (st *Stack) startPollers(fns map[string]*samtemplate.ServerlessFunction, streams, values map[string]string, dataDir, endpoint string, invoke gatewayemu.InvokeFunc, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	st.closers = append(st.closers, func() error { cancel(); wg.Wait(); return nil })
	for _, fid := range sortedKeys(fns) {
		for _, e := range fns[fid].StreamEvents {
			if e.Type != "DynamoDB" || !e.Enabled {
				if e.Type != "DynamoDB" {
					log.Warn("stream event not emulated", "function", fid, "event", e.Name, "type", e.Type)
				}
				continue
			}
			arn := streams[e.StreamTable]
			if arn == "" {
				return fmt.Errorf("localstack: %s event %s: Stream must be !GetAtt <Table>.StreamArn of a table with a stream", fid, e.Name)
			}
			maxRetries := -1
			if e.MaximumRetryAttempts != nil {
				maxRetries = *e.MaximumRetryAttempts
			}
			onFailure := ""
			if e.OnFailure != nil {
				onFailure, _ = samtemplate.ResolveString(e.OnFailure, values)
			}
			fn := fid
			p, err := streampoller.New(streampoller.Config{
				Function:  fid,
				StreamARN: arn,
				Streams:   ddblocal.StreamsClient(endpoint),
				Invoke: func(ctx context.Context, payload []byte) ([]byte, bool, error) {
					return invoke(ctx, fn, payload)
				},
				BatchSize:               e.BatchSize,
				BatchingWindow:          time.Duration(e.MaximumBatchingWindowInSeconds) * time.Second,
				StartingPosition:        e.StartingPosition,
				MaxRetries:              maxRetries,
				Bisect:                  e.BisectBatchOnFunctionError,
				ReportBatchItemFailures: e.ReportBatchItemFailures,
				Filters:                 e.FilterPatterns,
				OnFailure:               onFailure,
				CheckpointFile:          filepath.Join(dataDir, "streams", fid+"-"+e.Name+".json"),
				Logger:                  log,
			})
			if err != nil {
				return err
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := p.Run(ctx); err != nil {
					log.Error("stream poller stopped", "function", fn, "error", err.Error())
				}
			}()
		}
	}
	return nil
}

// bootstrap creates the pepper and, on first start, the tenant's default
// key. It returns the token when it created one.
func (st *Stack) bootstrap(ctx context.Context, envs map[string]map[string]string, ddbURL, kmsURL, tenant string) (string, error) {
	env := keysEnv(envs)
	if env == nil {
		st.log.Warn("no function has KEYS_TABLE: no pepper or tenant bootstrapped")
		return "", nil
	}
	s, err := awsenv.ReadSettings(func(k string) string { return env[k] })
	if err != nil {
		return "", fmt.Errorf("localstack: %w", err)
	}
	svc, hasher := Service(s, ddbURL, kmsURL)
	if _, err := hasher.EnsureCurrent(ctx); err != nil {
		return "", fmt.Errorf("localstack: create the pepper: %w", err)
	}
	if _, err := os.Stat(st.TokenFile); err == nil {
		if fixed, err := ensureOwnerOnly(st.TokenFile); err != nil {
			return "", err
		} else if fixed {
			st.log.Warn("the admin token file was readable by others: made it 0600", "tokenFile", st.TokenFile)
		}
		return "", nil
	}
	issued, err := svc.Bootstrap(ctx, tenant, bootstrapActor)
	if apikey.ErrorCode(err) == apikey.ECodeTenantAlreadyExists {
		st.log.Warn("tenant exists but its token file is gone; its token was shown once. Bootstrap another tenant (make bootstrap TENANT=...) or delete the data directory to start over",
			"tenant", tenant, "tokenFile", st.TokenFile)
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("localstack: bootstrap tenant %s: %w", tenant, err)
	}
	if err := writeSecretFile(st.TokenFile, issued.Token+"\n"); err != nil {
		return "", err
	}
	st.Bootstrapped = true
	return issued.Token, nil
}

// keysEnv returns the environment of a function that has KEYS_TABLE (they
// share it through Globals), preferring functions in name order.
func keysEnv(envs map[string]map[string]string) map[string]string {
	for _, id := range sortedKeys(envs) {
		if envs[id]["KEYS_TABLE"] != "" {
			return envs[id]
		}
	}
	return nil
}

// Service builds the key service the functions build, against the given
// DynamoDB and KMS endpoints (local ones; credentials are dummies).
func Service(s awsenv.Settings, ddbURL, kmsURL string) (*apikey.Service, *kmspepper.Hasher) {
	store := dynamostore.New(ddblocal.Client(ddbURL), s.Table)
	kmsClient := kms.New(kms.Options{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(kmsURL),
	})
	hasher := kmspepper.New(kmsClient, store, s.KMSKeyID)
	return apikey.NewService(store, hasher, s.Service), hasher
}

// State is what StateFile holds while a stack runs, for tools such as
// scripts/bootstrap (which read it through package localstate).
type State = localstate.State

func (st *Stack) writeState(envs map[string]map[string]string) error {
	keys := map[string]string{}
	for k, v := range keysEnv(envs) {
		if !strings.HasPrefix(k, "AWS_") {
			keys[k] = v
		}
	}
	s := State{
		PID: os.Getpid(), APIURL: st.APIURL, LambdaURL: st.LambdaURL, DynamoDBURL: st.DynamoDBURL, KMSURL: st.KMSURL,
		APIID: st.APIID, Stage: st.Stage, Tables: st.Tables, KMSKeys: st.KMSKeys, KeysEnv: keys,
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	path := filepath.Join(st.DataDir, StateFile)
	if err := writeSecretFile(path, string(b)+"\n"); err != nil {
		return err
	}
	st.closers = append(st.closers, func() error { _ = os.Remove(path); return nil })
	return nil
}

// ReadState returns the state of the stack running on dataDir.
func ReadState(dataDir string) (*State, error) { return localstate.Read(dataDir) }

// banner tells the user what runs where, and the token on first start.
func (st *Stack) banner(w io.Writer, token, tenant string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nkeyward is running locally (Ctrl-C stops everything):\n")
	if st.APIID != "" {
		fmt.Fprintf(&b, "  API             %s   (API %s, stage %s)\n", st.APIURL, st.APIID, st.Stage)
		if slices.Contains(st.Functions, "ConsoleFunction") {
			fmt.Fprintf(&b, "  Console         %s/console   (sign in with a key's token)\n", st.APIURL)
		}
	}
	fmt.Fprintf(&b, "  Lambda invoke   %s   aws lambda invoke --endpoint-url %s --function-name <%s> /dev/stdout\n",
		st.LambdaURL, st.LambdaURL, strings.Join(st.Functions, "|"))
	fmt.Fprintf(&b, "  DynamoDB Local  %s   tables: %s\n", st.DynamoDBURL, strings.Join(sortedValues(st.Tables), ", "))
	fmt.Fprintf(&b, "  KMS             %s\n", st.KMSURL)
	fmt.Fprintf(&b, "  Data            %s\n", st.DataDir)
	if token != "" {
		fmt.Fprintf(&b, "\nTenant %q bootstrapped. Its default admin key (keys:admin) is shown this once:\n\n  %s\n\n", tenant, token)
		fmt.Fprintf(&b, "It is also in %s (mode 0600): TOKEN=$(cat %s)\n", st.TokenFile, relToWD(st.TokenFile))
	} else if _, err := os.Stat(st.TokenFile); err == nil {
		fmt.Fprintf(&b, "  Admin token     TOKEN=$(cat %s)\n", relToWD(st.TokenFile))
	}
	fmt.Fprintln(&b)
	_, _ = io.WriteString(w, b.String())
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

func relToWD(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return p
}

// ensureOwnerOnly makes path mode 0600 if it is not, and reports whether it
// had to (a token file copied or restored with a looser mode).
func ensureOwnerOnly(path string) (fixed bool, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("localstack: %w", err)
	}
	if fi.Mode().Perm() == 0o600 {
		return false, nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return false, fmt.Errorf("localstack: %w", err)
	}
	return true, nil
}

// writeSecretFile writes data to path with mode 0600, atomically.
func writeSecretFile(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("localstack: %w", err)
	}
	if _, err := io.WriteString(tmp, data); err != nil {
		tmp.Close()
		return fmt.Errorf("localstack: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	return nil
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func listen(port int, what string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr(port))
	if err != nil {
		return nil, fmt.Errorf("localstack: %s port: %w", what, err)
	}
	return ln, nil
}
