package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/workbench/console"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/filelock"
	"github.com/keyward/keyward/pkg/workbench/gatewayemu"
	"github.com/keyward/keyward/pkg/workbench/lambdaemu"
	"github.com/keyward/keyward/pkg/workbench/localkms"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// boot carries what Start's steps make, step to step.
type boot struct {
	opts Options
	root string
	st   *Stack
	con  *console.Console

	stacks   []*stackTemplate // keyward's first, then Options.APIs
	apiLn    net.Listener
	ctlLn    net.Listener
	ddb      *ddblocal.Instance
	bins     map[string]string            // function → its bootstrap
	streams  map[string]string            // table logical ID → stream ARN
	envs     map[string]map[string]string // function → environment
	token    string                       // the admin token, on first start
	platform string                       // the operator tenant's platform key, on first start
}

// newBoot resolves the options' defaults and makes the Stack that Close
// will take down.
func newBoot(opts Options) (*boot, error) {
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
	opts.Tenant = cmpOr(opts.Tenant, DefaultTenant)
	opts.GoCmd = cmpOr(opts.GoCmd, "go")
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = lambdaemu.DefaultMaxConcurrency
	}
	con := console.New(opts.Output)
	st := &Stack{
		DataDir:   dataDir,
		TokenFile: filepath.Join(dataDir, AdminTokenFile), PlatformTokenFile: filepath.Join(dataDir, PlatformTokenFile),
		console:   con,
		log:       con.Logger("stack", opts.LogLevel),
		functions: map[string]*lambdaemu.Function{},
		Tables:    map[string]string{},
		KMSKeys:   map[string]string{},
	}
	return &boot{opts: opts, root: root, st: st, con: con, envs: map[string]map[string]string{}}, nil
}

// cmpOr returns v unless it is the zero value, else def.
func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// lockDataDir creates the data directory (0700) and holds its lock: two
// stacks never share one (DynamoDB Local's files would not survive it).
func (b *boot) lockDataDir(context.Context) error {
	if err := os.MkdirAll(b.st.DataDir, 0o700); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	unlock, err := filelock.TryLock(filepath.Join(b.st.DataDir, lockFile), 0o600)
	if err != nil {
		return fmt.Errorf("localstack: %s is in use by another local stack (stop it first): %w", b.st.DataDir, err)
	}
	b.st.onClose(func() error { unlock(); return nil })
	return nil
}

// bindPorts binds keyward's API port and the Lambda port first, so a port
// in use fails before anything slow starts.
func (b *boot) bindPorts(context.Context) error {
	var err error
	if b.apiLn, err = b.listen(b.opts.APIPort, "API"); err != nil {
		return err
	}
	if b.ctlLn, err = b.listen(b.opts.LambdaPort, "Lambda"); err != nil {
		return err
	}
	b.st.APIURL = "http://" + b.apiLn.Addr().String()
	b.st.LambdaURL = "http://" + b.ctlLn.Addr().String()
	return nil
}

func (b *boot) listen(port int, what string) (net.Listener, error) {
	ln, err := listen(port, what)
	if err != nil {
		return nil, err
	}
	b.st.onClose(ln.Close)
	return ln, nil
}

// dynamoDBReadyTimeout bounds DynamoDB Local's start while the functions
// build.
const dynamoDBReadyTimeout = 2 * time.Minute

// startDynamoDBAndBuild starts DynamoDB Local and builds every template's
// functions at the same time (each takes seconds).
func (b *boot) startDynamoDBAndBuild(ctx context.Context) error {
	var wg sync.WaitGroup
	var ddbErr, buildErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		b.ddb, ddbErr = b.startDynamoDB(ctx)
	}()
	go func() {
		defer wg.Done()
		b.bins, buildErr = b.build(ctx)
	}()
	wg.Wait()
	if b.ddb != nil {
		b.st.onClose(b.ddb.Stop)
		b.st.DynamoDBURL = b.ddb.Endpoint
	}
	return errors.Join(ddbErr, buildErr)
}

func (b *boot) startDynamoDB(ctx context.Context) (*ddblocal.Instance, error) {
	jarDir, err := ddblocal.Install(b.root)
	if err != nil {
		return nil, err
	}
	return ddblocal.Start(ctx, ddblocal.Options{
		Dir:    jarDir,
		Port:   b.opts.DynamoDBPort,
		DBPath: filepath.Join(b.st.DataDir, "dynamodb"),
		Stdout: b.con.Prefixed("dynamodb"),
		// Java starts beside the functions' build, which takes every core
		// for a while: give it longer than on an idle machine.
		ReadyTimeout: dynamoDBReadyTimeout,
	})
}

// build builds every template's functions: keyward's with one go build;
// another template's as `sam build` would, a BuildMethod makefile function
// with its make target, any other with one go build of the Go main
// packages their CodeUri name (per Go module).
func (b *boot) build(ctx context.Context) (map[string]string, error) {
	start := time.Now()
	bins := map[string]string{}
	binDir := filepath.Join(b.st.DataDir, "bin")
	for i, s := range b.stacks {
		mod := moduleRoot(s.dir)
		pkgs := map[string]string{}
		for _, id := range sortedKeys(s.fns) {
			f := s.fns[id]
			var p string
			var err error
			switch {
			case i == 0:
				p, err = packageDirIn(ctx, mod, s.dir, f)
			case f.BuildMethod == "makefile":
				bins[id], err = makeBuild(ctx, filepath.Join(s.dir, filepath.FromSlash(f.CodeURI)), id, filepath.Join(binDir, id), b.con.Prefixed("build"))
				if err != nil {
					return nil, err
				}
				continue
			default:
				p, err = goCodeURIPackage(mod, s.dir, f)
			}
			if err != nil {
				return nil, err
			}
			pkgs[id] = p
		}
		if len(pkgs) == 0 {
			continue
		}
		built, err := buildFunctions(ctx, b.opts.GoCmd, mod, binDir, pkgs, b.con.Prefixed("build"))
		if err != nil {
			return nil, err
		}
		for id, p := range built {
			bins[id] = p
		}
	}
	b.st.log.Info("functions built", "count", len(bins), "seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()))
	return bins, nil
}

// startKMS serves the local KMS with one key per AWS::KMS::Key of keyward's
// template, the same key on every start.
func (b *boot) startKMS(context.Context) error {
	srv, err := localkms.New(localkms.WithFile(filepath.Join(b.st.DataDir, kmsFile)), localkms.WithRegion(Region), localkms.WithAccount(Account))
	if err != nil {
		return err
	}
	for id := range b.stacks[0].t.ResourcesOfType("AWS::KMS::Key") {
		arn, err := srv.EnsureKey("alias/keyward-local/" + id)
		if err != nil {
			return err
		}
		b.st.KMSKeys[id] = arn
	}
	url, stop, err := srv.Start(addr(b.opts.KMSPort))
	if err != nil {
		return err
	}
	b.st.onClose(stop)
	b.st.KMSURL = url
	return nil
}

// createTables creates keyward's tables and finds their streams (for the
// pollers and StreamArn references).
func (b *boot) createTables(ctx context.Context) error {
	client := ddblocal.Client(b.ddb.Endpoint)
	tables, err := ddblocal.CreateTables(ctx, client, b.stacks[0].t, nil)
	if err != nil {
		return err
	}
	b.st.Tables = tables
	b.streams = map[string]string{}
	for id, name := range tables {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("localstack: describe table %s: %w", name, err)
		}
		if s := aws.ToString(out.Table.LatestStreamArn); s != "" {
			b.streams[id] = s
		}
	}
	return b.resolveValues()
}

// startFunctions starts every template's functions behind the Lambda
// Runtime API emulator, with their resolved environment.
func (b *boot) startFunctions(context.Context) error {
	base := map[string]string{
		"AWS_REGION":                        Region,
		"AWS_DEFAULT_REGION":                Region,
		"AWS_ACCESS_KEY_ID":                 "local",
		"AWS_SECRET_ACCESS_KEY":             "local",
		"AWS_EC2_METADATA_DISABLED":         "true",
		"AWS_CONFIG_FILE":                   os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE":       os.DevNull,
		"AWS_ENDPOINT_URL_DYNAMODB":         b.ddb.Endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB_STREAMS": b.ddb.Endpoint,
		"AWS_ENDPOINT_URL_KMS":              b.st.KMSURL,
		"AWS_ENDPOINT_URL_EVENTBRIDGE":      b.st.EventsURL,
		"AWS_ENDPOINT_URL_API_GATEWAY":      b.st.LambdaURL,
		"AWS_ENDPOINT_URL_APIGATEWAYV2":     b.st.LambdaURL,
		"AWS_ENDPOINT_URL_LAMBDA":           b.st.LambdaURL,
	}
	for _, s := range b.stacks {
		for _, id := range sortedKeys(s.fns) {
			env := s.functionEnv(id, b.st.log)
			for k, v := range base {
				env[k] = v
			}
			b.envs[id] = env
			if err := b.startFunction(s.fns[id], env); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *boot) startFunction(f *samtemplate.ServerlessFunction, env map[string]string) error {
	if f.LogFormat != "" {
		env["AWS_LAMBDA_LOG_FORMAT"] = f.LogFormat
	}
	if f.ApplicationLogLevel != "" {
		env["AWS_LAMBDA_LOG_LEVEL"] = f.ApplicationLogLevel
	}
	fn, err := lambdaemu.Start(lambdaemu.Config{
		Name:           f.LogicalID,
		Path:           b.bins[f.LogicalID],
		Env:            envList(env),
		Timeout:        time.Duration(f.Timeout) * time.Second,
		MemoryMB:       f.MemorySize,
		MaxConcurrency: b.opts.MaxConcurrency,
		Region:         Region,
		Account:        Account,
		Output:         b.con.LinePrefixed(f.LogicalID),
		Logger:         b.con.Logger("lambda", b.opts.LogLevel),
	})
	if err != nil {
		return err
	}
	b.st.functions[f.LogicalID] = fn
	b.st.Functions = append(b.st.Functions, f.LogicalID)
	b.st.onClose(fn.Close)
	return nil
}

// invoke runs a function synchronously (the gateways, pollers and
// schedules use it).
func (b *boot) invoke(ctx context.Context, name string, payload []byte) ([]byte, bool, error) {
	fn := b.st.functions[name]
	if fn == nil {
		return nil, false, fmt.Errorf("no function %s", name)
	}
	res, err := fn.Invoke(ctx, payload)
	if err != nil {
		return nil, false, err
	}
	return res.Payload, res.FunctionError != "", nil
}

// serveControl serves Lambda Invoke and API Gateway management (the
// authorizer-cache flush of every API's stage) on the Lambda port.
func (b *boot) serveControl(context.Context) error {
	async, cancel := context.WithCancel(context.Background())
	b.st.onClose(func() error { cancel(); return nil })
	mux := http.NewServeMux()
	(&lambdaemu.InvokeAPI{
		Lookup: func(name string) *lambdaemu.Function { return b.st.functions[name] },
		List: func() []*lambdaemu.Function {
			fs := make([]*lambdaemu.Function, 0, len(b.st.Functions))
			for _, id := range b.st.Functions {
				fs = append(fs, b.st.functions[id])
			}
			return fs
		},
		Async: async,
	}).Register(mux)
	(&gatewayemu.ManagementAPI{Gateways: b.st.gateways}).Register(mux)
	b.st.serve(b.ctlLn, mux)
	return nil
}

// bootstrap creates the pepper and, on first start, the tenant's default
// key and the operator tenant's platform key, keeping their tokens for the
// banner.
func (b *boot) bootstrap(ctx context.Context) error {
	env := keysEnv(b.envs)
	if env == nil {
		b.st.log.Warn("no function has KEYS_TABLE: no pepper or tenant bootstrapped")
		return nil
	}
	s, err := awsenv.ReadSettings(func(k string) string { return env[k] })
	if err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	svc, hasher := Service(s, b.ddb.Endpoint, b.st.KMSURL)
	if _, err := hasher.EnsureCurrent(ctx); err != nil {
		return fmt.Errorf("localstack: create the pepper: %w", err)
	}
	if b.token, err = b.bootstrapTenant(ctx, svc, b.opts.Tenant, b.st.TokenFile); err != nil {
		return err
	}
	b.st.Bootstrapped = b.token != ""
	if b.opts.Tenant != svc.OperatorTenant() {
		b.platform, err = b.bootstrapTenant(ctx, svc, svc.OperatorTenant(), b.st.PlatformTokenFile)
	}
	return err
}

// bootstrapTenant creates tenant and its default key unless file (its
// token, 0600) exists. It returns the token when it created one.
func (b *boot) bootstrapTenant(ctx context.Context, svc *apikey.Service, tenant, file string) (string, error) {
	if _, err := os.Stat(file); err == nil {
		if fixed, err := ensureOwnerOnly(file); err != nil {
			return "", err
		} else if fixed {
			b.st.log.Warn("a token file was readable by others: made it 0600", "tokenFile", file)
		}
		return "", nil
	}
	issued, err := svc.Bootstrap(ctx, tenant, bootstrapActor)
	if apikey.ErrorCode(err) == apikey.ECodeTenantAlreadyExists {
		b.st.log.Warn("tenant exists but its token file is gone; its token was shown once. Rotate its default key "+
			"(make bootstrap TENANT=... ROTATE_DEFAULT=1) or delete the data directory to start over",
			"tenant", tenant, "tokenFile", file)
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("localstack: bootstrap tenant %s: %w", tenant, err)
	}
	if err := writeSecretFile(file, issued.Token+"\n"); err != nil {
		return "", err
	}
	return issued.Token, nil
}

// writeState writes the state file tools read (removed by Close).
func (b *boot) writeState(context.Context) error {
	st := b.st
	keys := map[string]string{}
	for k, v := range keysEnv(b.envs) {
		if !strings.HasPrefix(k, "AWS_") {
			keys[k] = v
		}
	}
	s := State{
		PID: os.Getpid(), APIURL: st.APIURL, LambdaURL: st.LambdaURL, DynamoDBURL: st.DynamoDBURL, KMSURL: st.KMSURL,
		APIID: st.APIID, Stage: st.Stage, Tables: st.Tables, KMSKeys: st.KMSKeys, KeysEnv: keys,
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	path := filepath.Join(st.DataDir, StateFile)
	if err := writeSecretFile(path, string(data)+"\n"); err != nil {
		return err
	}
	st.onClose(func() error { _ = os.Remove(path); return nil })
	return nil
}

// checkRouteScopes refuses a RouteScopes value the authorizer would refuse
// at start (it would crash-loop while the banner said "running").
func checkRouteScopes(values map[string]string) error {
	v, ok := values["RouteScopes"]
	if !ok {
		return nil
	}
	if _, err := authorizer.ParseRouteScopes(v); err != nil {
		return fmt.Errorf("parameter RouteScopes: %w", err)
	}
	return nil
}
