package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/gatewayemu"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
	"github.com/keyward/keyward/pkg/workbench/streampoller"
)

// stackTemplate is one template the stack runs: keyward's, or one of
// Options.APIs (a protected API), as its own local "stack".
type stackTemplate struct {
	t      *samtemplate.Template
	path   string
	dir    string
	name   string            // its stack name (AWS::StackName)
	params map[string]string // parameter overrides
	fns    map[string]*samtemplate.ServerlessFunction
	apis   map[string]*samtemplate.ServerlessAPI
	values map[string]string // what Ref, GetAtt, Sub and ImportValue resolve to
	apiIDs map[string]string // API logical ID → API ID
}

// loadTemplates reads keyward's template and every Options.APIs template,
// and checks the parameters before anything starts: a value the template's
// constraints refuse, or a RouteScopes the authorizer would refuse, stops
// the start with an error naming the parameter. Parameters named
// <stack>.<Name> are another template's (its stack name is its directory's
// name, e.g. recordings.AuthorizerCacheTtl).
func (b *boot) loadTemplates(context.Context) error {
	paths := append([]string{filepath.Join(b.root, samtemplate.FileName)}, b.opts.APIs...)
	own, others := splitParameters(b.opts.Parameters)
	seen := map[string]string{}   // function logical ID → template
	stacks := map[string]string{} // stack name → template
	for i, p := range paths {
		s, err := loadStack(p, i == 0, own, others)
		if err != nil {
			return err
		}
		for id := range s.fns {
			if other, dup := seen[id]; dup {
				return fmt.Errorf("localstack: function %s is defined by %s and %s; local function names must be unique", id, other, s.path)
			}
			seen[id] = s.path
		}
		if other, dup := stacks[s.name]; dup && i > 0 {
			return fmt.Errorf("localstack: %s and %s would both be stack %s (a template's directory names its stack); move one", other, s.path, s.name)
		}
		stacks[s.name] = s.path
		b.stacks = append(b.stacks, s)
	}
	for _, name := range sortedKeys(others) {
		if _, ok := stacks[name]; !ok || name == StackName {
			for param := range others[name] {
				return fmt.Errorf("localstack: parameter %s.%s: no template served as stack %s (-api names the templates; a template's directory names its stack)", name, param, name)
			}
		}
	}
	return nil
}

// splitParameters separates keyward's parameters from other stacks'
// (<stack>.<Name>: CloudFormation parameter names have no dot).
func splitParameters(all map[string]string) (own map[string]string, others map[string]map[string]string) {
	own, others = map[string]string{}, map[string]map[string]string{}
	for k, v := range all {
		stack, name, ok := strings.Cut(k, ".")
		if !ok {
			own[k] = v
			continue
		}
		if others[stack] == nil {
			others[stack] = map[string]string{}
		}
		others[stack][name] = v
	}
	return own, others
}

func loadStack(path string, keyward bool, overrides map[string]string, others map[string]map[string]string) (*stackTemplate, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	t, err := samtemplate.Load(abs)
	if err != nil {
		return nil, err
	}
	s := &stackTemplate{t: t, path: abs, dir: filepath.Dir(abs), name: StackName, apiIDs: map[string]string{}}
	if keyward {
		s.params = overrides
		if err := t.CheckParameters(overrides); err != nil {
			return nil, fmt.Errorf("localstack: %w", err)
		}
		if err := checkRouteScopes(t.ParameterValues(overrides)); err != nil {
			return nil, fmt.Errorf("localstack: %w", err)
		}
	} else {
		s.name = filepath.Base(s.dir)
		s.params = others[s.name]
		for _, k := range sortedKeys(s.params) {
			if err := t.CheckParameters(map[string]string{k: s.params[k]}); err != nil {
				reason := strings.TrimPrefix(err.Error(), "parameter "+k+": ")
				return nil, fmt.Errorf("localstack: parameter %s.%s (%s): %s", s.name, k, s.path, reason)
			}
		}
	}
	if s.fns, err = t.ServerlessFunctions(s.params); err != nil {
		return nil, err
	}
	if s.apis, err = t.ServerlessAPIs(s.params); err != nil {
		return nil, err
	}
	for _, id := range sortedKeys(s.apis) {
		s.apiIDs[id] = apiID(s.name, id)
	}
	return s, nil
}

// resolveValues works out each template's references: keyward's from its
// resources, the others' from theirs plus keyward's exports.
func (b *boot) resolveValues() error {
	kw := b.stacks[0]
	kw.values = refs(kw.t, kw.name, kw.params, b.st.Tables, b.streams, b.st.KMSKeys, kw.apiIDs)
	exports, err := kw.t.Exports(kw.values)
	if err != nil {
		return err
	}
	for _, s := range b.stacks[1:] {
		s.values = refs(s.t, s.name, s.params, nil, nil, nil, s.apiIDs)
		for name, v := range exports {
			if val, err := samtemplate.ResolveString(v, kw.values); err == nil {
				s.values[samtemplate.ImportKey(name)] = val
			}
		}
	}
	return nil
}

// functionEnv is a function's environment resolved; variables that cannot
// be resolved locally are left out with a warning.
func (s *stackTemplate) functionEnv(id string, log *slog.Logger) map[string]string {
	env, skipped := functionEnv(s.fns[id], s.values)
	for _, k := range sortedKeys(skipped) {
		log.Warn("environment variable not set: its value cannot be resolved locally", "function", id, "variable", k, "error", skipped[k].Error())
	}
	return env
}

// importedFunction is the function of keyward's template that an export
// name (a protected API's !ImportValue of the authorizer) stands for.
func (b *boot) importedFunction(export string) (string, bool) {
	kw := b.stacks[0]
	exports, err := kw.t.Exports(kw.values)
	if err != nil {
		return "", false
	}
	id, _, ok := samtemplate.RefTarget(exports[export])
	if !ok || kw.fns[id] == nil {
		return "", false
	}
	return id, true
}

// serveAPIs serves every API of every template with routes: keyward's first
// API on the API port, each other API on its own port (the API port + 10,
// + 11, ... or free ports when the API port is 0).
func (b *boot) serveAPIs(context.Context) error {
	n := 0
	for _, s := range b.stacks {
		for _, id := range sortedKeys(s.apis) {
			if !s.hasRoutes(id) {
				continue
			}
			gw, err := b.newGateway(s, id)
			if err != nil {
				return err
			}
			ln := b.apiLn
			if n > 0 {
				port := 0
				if b.opts.APIPort != 0 {
					port = b.opts.APIPort + 9 + n
				}
				if ln, err = b.listen(port, "API "+id); err != nil {
					return err
				}
			}
			n++
			b.st.gateways = append(b.st.gateways, gw)
			b.st.APIs = append(b.st.APIs, ServedAPI{Template: s.path, LogicalID: id, ID: gw.APIID(), Stage: gw.Stage(), URL: "http://" + ln.Addr().String()})
			b.st.serve(ln, gw)
		}
	}
	if n == 0 {
		b.st.log.Warn("the templates have no API events: nothing served on the API port")
		return nil
	}
	b.st.APIID, b.st.Stage = b.st.APIs[0].ID, b.st.APIs[0].Stage
	return nil
}

func (s *stackTemplate) hasRoutes(api string) bool {
	for _, f := range s.fns {
		for _, e := range f.APIEvents {
			if e.API == api {
				return true
			}
		}
	}
	return false
}

// newGateway builds an API stage from its template; an authorizer imported
// from keyward's stack runs keyward's authorizer function.
func (b *boot) newGateway(s *stackTemplate, id string) (*gatewayemu.Gateway, error) {
	api := s.apis[id]
	cfg := gatewayemu.Config{
		HTTP:  api.HTTP,
		APIID: s.apiIDs[id], Stage: api.StageName, Region: Region, Account: Account,
		Authorizers:      map[string]gatewayemu.Authorizer{},
		GatewayResponses: map[string]gatewayemu.GatewayResponse{},
		Invoke:           b.invoke,
		Logger:           b.con.Logger("api "+s.name+"/"+id, b.opts.LogLevel),
	}
	for name, a := range api.Authorizers {
		fn := a.Function
		if a.Import != "" {
			var ok bool
			if fn, ok = b.importedFunction(a.Import); !ok {
				return nil, fmt.Errorf("localstack: %s: authorizer %s imports %s, which keyward's stack (%s) does not export as a function's ARN", s.path, name, a.Import, StackName)
			}
		}
		if b.st.functions[fn] == nil {
			return nil, fmt.Errorf("localstack: %s: authorizer %s names function %s, which is not running", s.path, name, fn)
		}
		cfg.Authorizers[name] = gatewayemu.Authorizer{
			Function: fn, Type: a.PayloadType, Headers: a.Headers, QueryStrings: a.QueryStrings, Context: a.Context,
			TTL:                  time.Duration(a.ReauthorizeEvery) * time.Second,
			PayloadFormatVersion: a.PayloadFormatVersion, SimpleResponses: a.SimpleResponses,
		}
	}
	for typ, gr := range api.GatewayResponses {
		cfg.GatewayResponses[typ] = gatewayemu.GatewayResponse{StatusCode: gr.StatusCode, Templates: gr.Templates, Headers: gr.Headers}
	}
	for _, fid := range sortedKeys(s.fns) {
		for _, e := range s.fns[fid].APIEvents {
			if e.API != id {
				continue
			}
			auth := e.Authorizer
			if auth == "" {
				auth = api.DefaultAuthorizer
			}
			cfg.Routes = append(cfg.Routes, gatewayemu.Route{Method: e.Method, Path: e.Path, Function: fid, Authorizer: auth, PayloadFormatVersion: e.PayloadFormatVersion})
		}
	}
	return gatewayemu.New(cfg)
}

// startPollers starts an event source mapping for every DynamoDB stream
// event of keyward's template.
func (b *boot) startPollers(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.st.onClose(func() error { cancel(); wg.Wait(); return nil })
	log := b.con.Logger("stream", b.opts.LogLevel)
	kw := b.stacks[0]
	for _, fid := range sortedKeys(kw.fns) {
		for _, e := range kw.fns[fid].StreamEvents {
			if e.Type != "DynamoDB" {
				log.Warn("stream event not emulated", "function", fid, "event", e.Name, "type", e.Type)
				continue
			}
			if !e.Enabled {
				continue
			}
			p, err := b.poller(kw, fid, e, log)
			if err != nil {
				return err
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := p.Run(ctx); err != nil {
					log.Error("stream poller stopped", "function", fid, "error", err.Error())
				}
			}()
		}
	}
	return nil
}

func (b *boot) poller(s *stackTemplate, fid string, e samtemplate.StreamEvent, log *slog.Logger) (*streampoller.Poller, error) {
	arn := b.streams[e.StreamTable]
	if arn == "" {
		return nil, fmt.Errorf("localstack: %s event %s: Stream must be !GetAtt <Table>.StreamArn of a table with a stream", fid, e.Name)
	}
	maxRetries := -1
	if e.MaximumRetryAttempts != nil {
		maxRetries = *e.MaximumRetryAttempts
	}
	onFailure := ""
	if e.OnFailure != nil {
		onFailure, _ = samtemplate.ResolveString(e.OnFailure, s.values)
	}
	return streampoller.New(streampoller.Config{
		Function:  fid,
		StreamARN: arn,
		Streams:   ddblocal.StreamsClient(b.ddb.Endpoint),
		Invoke: func(ctx context.Context, payload []byte) ([]byte, bool, error) {
			return b.invoke(ctx, fid, payload)
		},
		BatchSize:               e.BatchSize,
		BatchingWindow:          time.Duration(e.MaximumBatchingWindowInSeconds) * time.Second,
		StartingPosition:        e.StartingPosition,
		MaxRetries:              maxRetries,
		Bisect:                  e.BisectBatchOnFunctionError,
		ReportBatchItemFailures: e.ReportBatchItemFailures,
		Filters:                 e.FilterPatterns,
		OnFailure:               onFailure,
		CheckpointFile:          filepath.Join(b.st.DataDir, "streams", fid+"-"+e.Name+".json"),
		Logger:                  log,
	})
}

// startSchedules invokes every function with a Schedule event at once and
// then at its rate, with EventBridge's scheduled event, as a rule would.
// An invocation still running when the next is due does not delay it.
func (b *boot) startSchedules(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	b.st.onClose(func() error { cancel(); return nil })
	log := b.con.Logger("schedule", b.opts.LogLevel)
	for _, s := range b.stacks {
		for _, fid := range sortedKeys(s.fns) {
			for _, e := range s.fns[fid].ScheduleEvents {
				if e.Enabled {
					go b.runSchedule(ctx, fid, e, log)
				}
			}
		}
	}
	return nil
}

func (b *boot) runSchedule(ctx context.Context, fid string, e samtemplate.ScheduleEvent, log *slog.Logger) {
	tick := time.NewTicker(e.Rate)
	defer tick.Stop()
	for {
		now := time.Now().UTC()
		payload, _ := json.Marshal(map[string]any{
			"version": "0", "id": newEventID(), "detail-type": "Scheduled Event", "source": "aws.events",
			"account": Account, "time": now.Format(time.RFC3339), "region": Region,
			"resources": []string{"arn:aws:events:" + Region + ":" + Account + ":rule/" + fid + "-" + e.Name}, "detail": map[string]any{},
		})
		go func() {
			if _, fnErr, err := b.invoke(ctx, fid, payload); err != nil && ctx.Err() == nil {
				log.Error("scheduled invocation failed", "function", fid, "event", e.Name, "error", err.Error())
			} else if fnErr {
				log.Error("scheduled invocation returned an error", "function", fid, "event", e.Name)
			}
		}()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// newEventID is a fresh event ID for a scheduled event.
func newEventID() string {
	return strings.ReplaceAll(time.Now().UTC().Format("20060102T150405.000000000"), ".", "-")
}
