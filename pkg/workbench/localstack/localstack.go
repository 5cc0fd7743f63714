// Package localstack runs the whole of keyward on one machine, driven by
// template.yaml the way `sam local` would be, without Docker: real DynamoDB
// Local with the template's tables, a local KMS endpoint with the
// template's keys, every function built for this machine and run as its
// real bootstrap binary behind a Lambda Runtime API emulator (lambdaemu),
// the REST API with its Lambda authorizer and gateway responses
// (gatewayemu), a Lambda Invoke and API Gateway management endpoint, a
// poller for every DynamoDB stream event (streampoller) and a timer for
// every Schedule event. Other SAM templates (a platform's protected APIs)
// run beside keyward's: their functions built as `sam build` would (a
// makefile target, or go build of a Go CodeUri) and run too, each of their
// REST and HTTP APIs at its own base URL, an authorizer they import from
// keyward's stack resolved to keyward's, their parameters given as
// <stack>.<Name>. On first start it creates the pepper and
// bootstraps a tenant, printing its admin token once.
//
// Every listener it starts is bound to 127.0.0.1: the APIs, the Lambda
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
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/workbench/console"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/gatewayemu"
	"github.com/keyward/keyward/pkg/workbench/lambdaemu"

	"github.com/keyward/keyward/pkg/unicoderules"
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
	AdminTokenFile    = "admin-token"    // the bootstrapped tenant's token, 0600
	PlatformTokenFile = "platform-token" // the operator tenant's platform key, 0600
	StateFile         = localstate.File  // endpoints of the running stack, for tools
	kmsFile           = "kms.json"       // local KMS key material, 0600
	lockFile          = "run.lock"
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
	// EventsPort serves the local EventBridge PutEvents endpoint (0: free).
	EventsPort int
	// APIs are other SAM templates (a platform's protected APIs) served
	// beside keyward's: their functions built and run, each of their APIs
	// at its own base URL, an authorizer they import from keyward's stack
	// (!ImportValue <stack>-AuthorizerFunctionArn) resolved to keyward's.
	APIs []string
}

// ServedAPI is one API the stack serves.
type ServedAPI struct {
	// Template is the template's path; LogicalID the API's logical ID.
	Template  string
	LogicalID string
	// ID and Stage identify it (requestContext, method ARNs, flushes).
	ID    string
	Stage string
	// URL is its base URL (no stage prefix, as sam local).
	URL string
}

// Stack is a running local keyward.
type Stack struct {
	// APIURL is keyward's REST API's base URL (no stage prefix, as sam
	// local); APIs lists every API served, keyward's first.
	APIURL string
	APIs   []ServedAPI
	// LambdaURL serves Lambda Invoke and the API Gateway management calls.
	LambdaURL string
	// DynamoDBURL and KMSURL are the data endpoints.
	DynamoDBURL string
	KMSURL      string
	// EventsURL is the local EventBridge endpoint (events in DataDir/events.jsonl).
	EventsURL string
	// APIID and Stage identify the API (requestContext, method ARNs).
	APIID string
	Stage string
	// DataDir is the data directory; TokenFile the admin token's file.
	DataDir   string
	TokenFile string
	// PlatformTokenFile holds the operator tenant's platform key (keys:admin,
	// tenants:admin, tenants:act, actors:assert), bootstrapped beside Tenant.
	PlatformTokenFile string
	// Tables maps table logical IDs to names; KMSKeys KMS key logical IDs
	// to ARNs; Functions lists the functions by logical ID.
	Tables    map[string]string
	KMSKeys   map[string]string
	Functions []string
	// Bootstrapped reports whether this start created the tenant.
	Bootstrapped bool

	console   *console.Console
	log       *slog.Logger
	functions map[string]*lambdaemu.Function
	gateways  []*gatewayemu.Gateway
	closers   []func() error // run in reverse order by Close
	closeOnce sync.Once
	closeErr  error
}

// Start brings the stack up and returns once every API serves. ctx bounds
// the start only; the stack runs until Close. It runs Start's steps in
// order, each registering what Close must undo as soon as it has made it,
// so a step that fails leaves nothing running.
func Start(ctx context.Context, opts Options) (st *Stack, err error) {
	b, err := newBoot(opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = b.st.Close()
		}
	}()
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"read the templates and check the parameters", b.loadTemplates},
		{"lock the data directory", b.lockDataDir},
		{"bind the API and Lambda ports", b.bindPorts},
		{"start DynamoDB Local and build the functions", b.startDynamoDBAndBuild},
		{"start the local KMS", b.startKMS},
		{"serve the local EventBridge endpoint", b.startEvents},
		{"create the tables", b.createTables},
		{"start the functions", b.startFunctions},
		{"serve the APIs", b.serveAPIs},
		{"serve Lambda invoke and API Gateway management", b.serveControl},
		{"start the stream pollers", b.startPollers},
		{"start the schedules", b.startSchedules},
		{"bootstrap the tenant", b.bootstrap},
		{"write the state file", b.writeState},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			b.st.log.Debug("start failed", "step", s.name)
			return nil, err
		}
	}
	b.st.banner(b.opts.Terminal, b.token, b.platform, b.opts.Tenant)
	return b.st, nil
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

// onClose registers what Close must undo (in reverse order of registration).
func (st *Stack) onClose(f func() error) { st.closers = append(st.closers, f) }

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
	st.onClose(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		<-done
		return err
	})
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
	return apikey.NewService(store, hasher, unicoderules.Rules{}, s.Service, apikey.WithPolicies(store)), hasher
}

// State is what StateFile holds while a stack runs, for tools such as
// scripts/bootstrap (which read it through package localstate).
type State = localstate.State

// ReadState returns the state of the stack running on dataDir.
func ReadState(dataDir string) (*State, error) { return localstate.Read(dataDir) }

// banner tells the user what runs where, and the token on first start.
func (st *Stack) banner(w io.Writer, token, platform, tenant string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nkeyward is running locally (Ctrl-C stops everything):\n")
	for _, a := range st.APIs {
		fmt.Fprintf(&b, "  API             %s   (%s %s: API %s, stage %s)\n", a.URL, relToWD(a.Template), a.LogicalID, a.ID, a.Stage)
		if a.URL == st.APIURL && slices.Contains(st.Functions, "ConsoleFunction") {
			fmt.Fprintf(&b, "  Console         %s/console   (sign in with a key's token)\n", a.URL)
		}
	}
	fmt.Fprintf(&b, "  Lambda invoke   %s   aws lambda invoke --endpoint-url %s --function-name <%s> /dev/stdout\n",
		st.LambdaURL, st.LambdaURL, strings.Join(st.Functions, "|"))
	fmt.Fprintf(&b, "  DynamoDB Local  %s   tables: %s\n", st.DynamoDBURL, strings.Join(sortedValues(st.Tables), ", "))
	fmt.Fprintf(&b, "  KMS             %s\n", st.KMSURL)
	if st.EventsURL != "" {
		fmt.Fprintf(&b, "  EventBridge     %s   events appended to %s\n", st.EventsURL, relToWD(filepath.Join(st.DataDir, EventsFile)))
	}
	fmt.Fprintf(&b, "  Data            %s\n", st.DataDir)
	if token != "" {
		fmt.Fprintf(&b, "\nTenant %q bootstrapped. Its default admin key (keys:admin) is shown this once:\n\n  %s\n\n", tenant, token)
		fmt.Fprintf(&b, "It is also in %s (mode 0600): TOKEN=$(cat %s)\n", st.TokenFile, relToWD(st.TokenFile))
	} else if _, err := os.Stat(st.TokenFile); err == nil {
		fmt.Fprintf(&b, "  Admin token     TOKEN=$(cat %s)\n", relToWD(st.TokenFile))
	}
	if platform != "" {
		fmt.Fprintf(&b, "\nThe operator tenant's platform key (keys:admin tenants:admin tenants:act actors:assert), shown this once:\n\n  %s\n\n", platform)
		fmt.Fprintf(&b, "It is also in %s (mode 0600): PLATFORM=$(cat %s)\n", st.PlatformTokenFile, relToWD(st.PlatformTokenFile))
	} else if _, err := os.Stat(st.PlatformTokenFile); err == nil {
		fmt.Fprintf(&b, "  Platform token  PLATFORM=$(cat %s)\n", relToWD(st.PlatformTokenFile))
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
