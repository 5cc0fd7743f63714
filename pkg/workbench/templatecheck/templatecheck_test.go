package templatecheck

// The checks of the repository's template.yaml that `make test` runs. Each
// failure names the resource, function or route and says what to change.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// designFunctions are keyward's functions: the folder under functions/ and
// the template logical ID a local run (and the Lambda invoke endpoint)
// knows it by.
var designFunctions = map[string]string{
	"create":      "CreateFunction",
	"list":        "ListFunction",
	"edit":        "EditFunction",
	"revoke":      "RevokeFunction",
	"audit":       "AuditFunction",
	"auditstream": "AuditStreamFunction",
	"verify":      "VerifyFunction",
	"authorizer":  "AuthorizerFunction",
	"console":     "ConsoleFunction",
	"events":      "EventsFunction",
	"policy":      "PolicyFunction",
	"leaks":       "LeaksFunction",
	"reminders":   "RemindersFunction",
	"tenants":     "TenantsFunction",
}

// signedRoutes carry no key, so they are not in apikey's route table:
// secret scanners sign them instead, the function checks the signature, and
// no authorizer runs for them. Route → the function serving it.
var signedRoutes = map[string]string{"POST /v1/leaks": "LeaksFunction"}

// authorizerIdentityContext are the $context identity sources the
// authorizer's results must be cached by, besides the Authorization header.
var authorizerIdentityContext = []string{"identity.sourceIp", "httpMethod", "resourcePath"}

// identityWhat says what each identity source tells apart.
var identityWhat = map[string]string{"identity.sourceIp": "address", "httpMethod": "method", "resourcePath": "route"}

// lambdaProvided are environment variables the Lambda runtime sets itself;
// code may read them without the template setting them. AWS_* is covered
// by prefix.
var lambdaProvided = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
	"TZ": true, "LANG": true, "PATH": true, "LD_LIBRARY_PATH": true,
}

// lambdaReserved are the variables Lambda refuses in a function's
// Environment: a template setting one fails to deploy.
var lambdaReserved = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true,
	"AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true,
	"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_LAMBDA_RUNTIME_API": true,
	"LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

// repoState is what the repository checks share: loaded and analysed once.
type repoState struct {
	paths     Paths
	tmpl      *samtemplate.Template
	functions map[string]*samtemplate.ServerlessFunction // by logical ID
	folders   []string                                   // functions/<name> holding Go files
	builds    map[string]BuildCommand                    // by logical ID
	buildErrs map[string]error                           // by logical ID
}

var (
	repoOnce sync.Once
	repo     *repoState
	repoErr  error
)

func mustRepo(t *testing.T) *repoState {
	t.Helper()
	paths := mustPaths(t)
	repoOnce.Do(func() { repo, repoErr = loadRepo(paths) })
	if repoErr != nil {
		t.Fatal(repoErr)
	}
	return repo
}

func loadRepo(paths Paths) (*repoState, error) {
	r := &repoState{paths: paths, builds: map[string]BuildCommand{}, buildErrs: map[string]error{}}
	var err error
	if r.tmpl, err = samtemplate.Load(paths.Template); err != nil {
		return nil, err
	}
	if r.functions, err = r.tmpl.ServerlessFunctions(nil); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(paths.Root, "functions"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if gos, _ := filepath.Glob(filepath.Join(paths.Root, "functions", e.Name(), "*.go")); len(gos) > 0 {
			r.folders = append(r.folders, e.Name())
		}
	}
	for id := range r.functions {
		if bc, err := BuildTarget(paths.Root, id); err != nil {
			r.buildErrs[id] = err
		} else {
			r.builds[id] = bc
		}
	}
	return r, nil
}

// The fixture of code_test.go is analysed with the functions: one go list,
// one type-check of the packages they share.
const (
	functionsPattern = "./functions/..."
	fixturePattern   = "./pkg/workbench/templatecheck/testdata/fixture/fn"
)

var (
	analysisOnce sync.Once
	analysed     map[string]*Usage // by import path
	analysisErr  error
)

func mustAnalysis(t *testing.T) map[string]*Usage {
	t.Helper()
	paths := mustPaths(t)
	analysisOnce.Do(func() { analysed, analysisErr = Analyze(paths.Root, functionsPattern, fixturePattern) })
	if analysisErr != nil {
		t.Fatal(analysisErr)
	}
	return analysed
}

// mustUsages returns the functions' Usage by folder name.
func mustUsages(t *testing.T) map[string]*Usage {
	t.Helper()
	out := make(map[string]*Usage)
	for _, u := range mustAnalysis(t) {
		if filepath.Base(filepath.Dir(u.Dir)) == "functions" {
			out[filepath.Base(u.Dir)] = u
		}
	}
	return out
}

// functionFor returns the template function whose Makefile target builds
// functions/<folder>, or nil.
func (r *repoState) functionFor(folder string) *samtemplate.ServerlessFunction {
	for id, bc := range r.builds {
		if bc.Package == "./functions/"+folder {
			return r.functions[id]
		}
	}
	return nil
}

func TestTemplateResourcesValidateAgainstSchemas(t *testing.T) {
	t.Parallel()
	r := mustRepo(t)
	for _, err := range mustValidator(t).ValidateTemplate(r.tmpl) {
		t.Error(err)
	}
}

func TestTemplateReferencesResolve(t *testing.T) {
	r := mustRepo(t)
	broken, unused := References(r.tmpl)
	for _, err := range broken {
		t.Error(err)
	}
	for _, p := range unused {
		t.Errorf("parameter %s is declared but nothing uses it", p)
	}
}

func TestEachFunctionFolderIsOneTemplateFunction(t *testing.T) {
	r := mustRepo(t)
	for _, id := range sortedKeys(r.functions) {
		f := r.functions[id]
		t.Run(id, func(t *testing.T) {
			if err := r.buildErrs[id]; err != nil {
				t.Fatalf("no Makefile target build-%s, which `sam build` runs (BuildMethod: makefile): %v", id, err)
			}
			bc := r.builds[id]
			if bc.Package == "" {
				t.Fatalf("make build-%s builds no ./functions/<name> package: %s", id, bc.Command)
			}
			folder := strings.TrimPrefix(bc.Package, "./functions/")
			if !slices.Contains(r.folders, folder) {
				t.Errorf("make build-%s builds %s, which is not a function folder", id, bc.Package)
			}
			for _, want := range []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "-tags lambda.norpc", "-o " + ArtifactsDir + "/bootstrap "} {
				if !strings.Contains(bc.Command+" ", want) {
					t.Errorf("make build-%s does not pass %q: %s", id, want, bc.Command)
				}
			}
			if f.BuildMethod != "makefile" {
				t.Errorf("Metadata.BuildMethod = %q, want makefile", f.BuildMethod)
			}
			if f.CodeURI != "." {
				t.Errorf("CodeUri = %q, want . (the repository root, where the Makefile is)", f.CodeURI)
			}
			if f.Handler != "bootstrap" || f.Runtime != "provided.al2023" || !slices.Equal(f.Architectures, []string{"arm64"}) {
				t.Errorf("Handler, Runtime, Architectures = %q, %q, %v; want bootstrap, provided.al2023, [arm64]", f.Handler, f.Runtime, f.Architectures)
			}
			if want, ok := designFunctions[folder]; ok && want != id {
				t.Errorf("functions/%s is %s in the template, want %s (functions are known by these logical IDs)", folder, id, want)
			}
		})
	}
	for _, folder := range r.folders {
		t.Run("functions/"+folder, func(t *testing.T) {
			var ids []string
			for id, bc := range r.builds {
				if bc.Package == "./functions/"+folder {
					ids = append(ids, id)
				}
			}
			sort.Strings(ids)
			switch len(ids) {
			case 0:
				want := designFunctions[folder]
				if want == "" {
					want = "<Name>Function"
				}
				t.Errorf("no template function is built from functions/%s: add %s (Metadata BuildMethod: makefile) and a Makefile target build-%s", folder, want, want)
			case 1:
			default:
				t.Errorf("functions/%s is built by several template functions: %v", folder, ids)
			}
		})
	}
	t.Run("DesignFunctionsExist", func(t *testing.T) {
		for _, folder := range sortedKeys(designFunctions) {
			id := designFunctions[folder]
			if !slices.Contains(r.folders, folder) {
				t.Errorf("functions/%s does not exist yet", folder)
			}
			if _, ok := r.functions[id]; !ok {
				t.Errorf("template function %s does not exist yet", id)
			}
		}
	})
	t.Run("MakeBuildBuildsEveryFunction", func(t *testing.T) {
		v, err := MakeVariable(r.paths.Root, "FUNCTIONS")
		if err != nil {
			t.Fatal(err)
		}
		listed := strings.Fields(v)
		for _, folder := range r.folders {
			if !slices.Contains(listed, folder) {
				t.Errorf("Makefile FUNCTIONS (built by `make build`) lacks %s", folder)
			}
		}
	})
}

func TestRouteTableIsTemplateAPIEvents(t *testing.T) {
	r := mustRepo(t)
	apis, err := r.tmpl.ServerlessAPIs(nil)
	if err != nil {
		t.Fatal(err)
	}
	type route struct {
		fn  string
		ev  samtemplate.APIEvent
		dup []string
	}
	routes := make(map[string]*route)
	for _, id := range sortedKeys(r.functions) {
		for _, ev := range r.functions[id].APIEvents {
			key := ev.Method + " " + ev.Path
			if rt, ok := routes[key]; ok {
				rt.dup = append(rt.dup, id)
				continue
			}
			routes[key] = &route{fn: id, ev: ev}
		}
	}
	table := map[string]apikey.RouteScope{}
	for _, e := range apikey.AdminRoutes() {
		table[e.Method+" "+e.Path] = e
	}
	for _, key := range sortedKeys(table) {
		want := table[key].Function
		t.Run(key, func(t *testing.T) {
			rt, ok := routes[key]
			if !ok {
				t.Fatalf("no Api event for %s: apikey's route table says %s serves it", key, want)
			}
			if len(rt.dup) > 0 {
				t.Errorf("%s is an Api event of %s and of %v", key, rt.fn, rt.dup)
			}
			if rt.fn != want {
				t.Errorf("%s is an Api event of %s, but apikey's route table says %s serves it", key, rt.fn, want)
			}
			api, ok := apis[rt.ev.API]
			switch {
			case !ok:
				t.Errorf("%s: RestApiId names %s, which is not an AWS::Serverless::Api", key, rt.ev.API)
			case table[key].Public && rt.ev.Authorizer != "NONE":
				t.Errorf("%s is public in apikey's route table: its Api event needs Auth: {Authorizer: NONE}", key)
			case table[key].Public:
			case rt.ev.Authorizer == "NONE":
				t.Errorf("%s opts out of the authorizer (Auth.Authorizer: NONE); only a route the table marks Public may", key)
			case api.DefaultAuthorizer == "" && rt.ev.Authorizer == "":
				t.Errorf("%s: API %s has no DefaultAuthorizer and the event names none", key, api.LogicalID)
			}
		})
	}
	public := map[string]bool{}
	for _, p := range apikey.PublicRoutes() {
		key := p.Method + " " + p.Path
		public[key] = true
		t.Run(key, func(t *testing.T) {
			rt, ok := routes[key]
			switch {
			case !ok:
				t.Errorf("no Api event for the public route %s", key)
			case rt.fn != p.Function:
				t.Errorf("%s is an Api event of %s, but apikey's route table says %s serves it", key, rt.fn, p.Function)
			case rt.ev.Authorizer != "NONE":
				t.Errorf("%s must set Auth.Authorizer: NONE (the console's files are public; its page asks for a token)", key)
			}
		})
	}
	t.Run("SignedRoutesRunNoAuthorizer", func(t *testing.T) {
		for key, fn := range signedRoutes {
			rt, ok := routes[key]
			switch {
			case !ok:
				t.Errorf("no Api event for %s (%s)", key, fn)
			case rt.fn != fn || rt.ev.Authorizer != "NONE":
				t.Errorf("%s is an Api event of %s with authorizer %q, want %s with NONE (its caller has no key)", key, rt.fn, rt.ev.Authorizer, fn)
			}
		}
	})
	t.Run("NoOtherRoutes", func(t *testing.T) {
		for _, key := range sortedKeys(routes) {
			if _, signed := signedRoutes[key]; signed {
				continue
			}
			if _, ok := table[key]; !ok && !public[key] {
				t.Errorf("Api event %s of %s is not in apikey's route table (pkg/apikey/authz.go)", key, routes[key].fn)
			}
		}
	})
}

func TestFunctionEnvironmentIsSet(t *testing.T) {
	t.Parallel()
	r := mustRepo(t)
	usages := mustUsages(t)
	for _, folder := range r.folders {
		t.Run(folder, func(t *testing.T) {
			f := r.functionFor(folder)
			if f == nil {
				t.Skipf("no template function builds functions/%s (reported by TestEachFunctionFolderIsOneTemplateFunction)", folder)
			}
			for name := range f.Environment {
				if lambdaReserved[name] {
					t.Errorf("%s sets %s, a variable Lambda reserves: the deployment would fail", f.LogicalID, name)
				}
			}
			u := usages[folder]
			if u == nil {
				t.Fatalf("functions/%s was not analysed", folder)
			}
			for _, site := range u.DynamicEnv {
				t.Errorf("%s reads an environment variable whose name is not a constant, so the template cannot be checked for it: %s", folder, site)
			}
			for _, name := range sortedKeys(u.Env) {
				if strings.HasPrefix(name, "AWS_") || lambdaProvided[name] {
					continue
				}
				if _, ok := f.Environment[name]; !ok {
					t.Errorf("%s reads %s, which neither Globals nor %s's Environment sets; read at %s", folder, name, f.LogicalID, u.Env[name])
				}
			}
		})
	}
}

func TestFunctionPoliciesGrantWhatTheCodeCallsAndNoMore(t *testing.T) {
	t.Parallel()
	r := mustRepo(t)
	usages := mustUsages(t)
	for _, folder := range r.folders {
		t.Run(folder, func(t *testing.T) {
			f := r.functionFor(folder)
			if f == nil {
				t.Skipf("no template function builds functions/%s (reported by TestEachFunctionFolderIsOneTemplateFunction)", folder)
			}
			stmts, errs := Policies(f.Properties)
			for _, err := range errs {
				t.Errorf("%s: %v", f.LogicalID, err)
			}
			u := usages[folder]
			if u == nil {
				t.Fatalf("functions/%s was not analysed", folder)
			}
			needs, errs := RequiredActions(u)
			for _, err := range errs {
				t.Errorf("%s: %v", f.LogicalID, err)
			}
			for _, err := range CheckPolicies(stmts, needs, len(u.IndexReads) > 0, EventSourceActions(f)) {
				t.Errorf("%s: %v", f.LogicalID, err)
			}
		})
	}
}

// TestTemplateIsComplete checks the pieces issue 5 lists for a template that
// deploys as is.
func TestTemplateIsComplete(t *testing.T) {
	r := mustRepo(t)
	raw := r.tmpl.Raw()
	resources := r.tmpl.Resources()

	t.Run("Transform", func(t *testing.T) {
		if got := raw["Transform"]; got != "AWS::Serverless-2016-10-31" {
			t.Errorf("Transform = %v, want AWS::Serverless-2016-10-31", got)
		}
	})
	t.Run("GlobalsFunction", func(t *testing.T) {
		g, _ := lookupPath(raw, "Globals", "Function").(map[string]any)
		for key, want := range map[string]any{
			"Runtime": "provided.al2023", "Handler": "bootstrap", "CodeUri": ".", "Tracing": "Active",
		} {
			if g[key] != want {
				t.Errorf("Globals.Function.%s = %v, want %v", key, g[key], want)
			}
		}
		if a, _ := g["Architectures"].([]any); len(a) != 1 || a[0] != "arm64" {
			t.Errorf("Globals.Function.Architectures = %v, want [arm64]", g["Architectures"])
		}
		if lf := lookupPath(g, "LoggingConfig", "LogFormat"); lf != "JSON" {
			t.Errorf("Globals.Function.LoggingConfig.LogFormat = %v, want JSON", lf)
		}
		if _, ok := lookupPath(g, "Environment", "Variables").(map[string]any); !ok {
			t.Error("Globals.Function.Environment.Variables is missing: the shared settings belong there")
		}
	})
	t.Run("Parameters", func(t *testing.T) {
		ps := r.tmpl.Parameters()
		for _, name := range []string{"Stage", "TokenPrefix", "KeyTypes", "RouteScopes", "AuthorizerCacheTtl", "KeyCacheTtl", "AuditRetentionDays", "RevokedRetentionDays", "LogLevel"} {
			p, ok := ps[name]
			switch {
			case !ok:
				t.Errorf("parameter %s is missing", name)
			case !p.HasDefault:
				t.Errorf("parameter %s has no Default, so `sam deploy` cannot run without it", name)
			}
		}
	})
	t.Run("APIWithRequestAuthorizer", func(t *testing.T) {
		apis, err := r.tmpl.ServerlessAPIs(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(apis) != 1 {
			t.Fatalf("APIs = %v, want exactly one", sortedKeys(apis))
		}
		for _, api := range apis {
			az, ok := api.Authorizers[api.DefaultAuthorizer]
			if !ok {
				t.Fatalf("API %s: DefaultAuthorizer %q is not one of its Authorizers", api.LogicalID, api.DefaultAuthorizer)
			}
			if az.PayloadType != "REQUEST" || !slices.Equal(az.Headers, []string{"Authorization"}) {
				t.Errorf("authorizer = %s on headers %v, want REQUEST on [Authorization]", az.PayloadType, az.Headers)
			}
			// The gateway caches a result per identity: the authorizer's
			// answer holds for one key, source IP, method and resource path
			// (its Allow names only that route, and IAM's * in it spans /),
			// so each must be part of the cache key.
			for _, c := range authorizerIdentityContext {
				if !slices.Contains(az.Context, c) {
					t.Errorf("authorizer Identity.Context = %v lacks %s: a result cached for one %s would be replayed for another", az.Context, c, identityWhat[c])
				}
			}
			if az.Function != "AuthorizerFunction" {
				t.Errorf("authorizer function = %q, want AuthorizerFunction", az.Function)
			}
			if _, ok := r.functions[az.Function]; !ok {
				t.Errorf("authorizer function %s is not in the template yet", az.Function)
			}
			res := resources[api.LogicalID].Properties
			if ttl := lookupPath(res, "Auth", "Authorizers", api.DefaultAuthorizer, "Identity", "ReauthorizeEvery"); !isRefTo(ttl, "AuthorizerCacheTtl") {
				t.Errorf("ReauthorizeEvery = %v, want !Ref AuthorizerCacheTtl", ttl)
			}
			// Without OpenApiVersion SAM adds a stage named "Stage" beside
			// StageName, whose authorizer cache a revocation does not flush.
			if res["OpenApiVersion"] == nil && lookupPath(raw, "Globals", "Api", "OpenApiVersion") == nil {
				t.Errorf("API %s has no OpenApiVersion (own or Globals.Api): SAM would add a second stage named Stage", api.LogicalID)
			}
		}
	})
	t.Run("GatewayResponsesFollowTheErrorContract", func(t *testing.T) {
		apis, err := r.tmpl.ServerlessAPIs(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, api := range apis {
			for _, typ := range []string{"UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX"} {
				if _, ok := api.GatewayResponses[typ]; !ok {
					t.Errorf("API %s has no %s gateway response", api.LogicalID, typ)
				}
			}
			for _, typ := range sortedKeys(api.GatewayResponses) {
				body, ok := api.GatewayResponses[typ].Templates["application/json"]
				if !ok {
					t.Errorf("gateway response %s has no application/json template", typ)
					continue
				}
				if err := checkErrorBody(body); err != "" {
					t.Errorf("gateway response %s: %s", typ, err)
				}
			}
		}
	})
	t.Run("Tables", func(t *testing.T) {
		for _, id := range []string{"KeysTable", "AuditTable"} {
			res, ok := resources[id]
			if !ok || res.Type != "AWS::DynamoDB::Table" {
				t.Errorf("table %s is not in the template yet", id)
				continue
			}
			if attr, on, err := r.tmpl.TTLAttribute(id, nil); err != nil || !on || attr == "" {
				t.Errorf("%s: TTL = %q, %v, %v; want enabled (revoked keys and audit records expire)", id, attr, on, err)
			}
			if lookupPath(res.Properties, "SSESpecification", "SSEType") != "KMS" {
				t.Errorf("%s is not encrypted with the KMS key", id)
			}
		}
		if v := lookupPath(resources["KeysTable"].Properties, "StreamSpecification", "StreamViewType"); v != "NEW_AND_OLD_IMAGES" {
			t.Errorf("KeysTable stream = %v, want NEW_AND_OLD_IMAGES (the audit trail needs both images)", v)
		}
	})
	t.Run("KMSKey", func(t *testing.T) {
		keys := r.tmpl.ResourcesOfType("AWS::KMS::Key")
		if len(keys) != 1 {
			t.Fatalf("KMS keys = %v, want one", sortedKeys(keys))
		}
		for id, k := range keys {
			if k.Properties["EnableKeyRotation"] != true {
				t.Errorf("%s: EnableKeyRotation = %v, want true", id, k.Properties["EnableKeyRotation"])
			}
			if _, ok := k.Properties["KeyPolicy"]; !ok {
				t.Errorf("%s has no KeyPolicy", id)
			}
		}
	})
	t.Run("AuditStream", func(t *testing.T) {
		f, ok := r.functions["AuditStreamFunction"]
		if !ok {
			t.Fatal("AuditStreamFunction is not in the template yet")
		}
		if len(f.StreamEvents) != 1 {
			t.Fatalf("AuditStreamFunction has %d stream events, want 1", len(f.StreamEvents))
		}
		ev := f.StreamEvents[0]
		if ev.Type != "DynamoDB" || ev.StreamTable != "KeysTable" {
			t.Errorf("stream event reads %s %s, want the DynamoDB stream of KeysTable", ev.Type, ev.StreamTable)
		}
		if !ev.ReportBatchItemFailures {
			t.Error("FunctionResponseTypes lacks ReportBatchItemFailures (one bad record must not block the batch)")
		}
		if len(ev.FilterPatterns) == 0 {
			t.Error("no FilterCriteria: the stream must pass key items only (usage and name-claim writes cost the audit function nothing)")
		}
		dlq, _, ok := samtemplate.RefTarget(ev.OnFailure)
		if !ok || resources[dlq].Type != "AWS::SQS::Queue" {
			t.Errorf("DestinationConfig.OnFailure = %v, want an SQS queue of the template (failed batches must go somewhere)", ev.OnFailure)
		}
	})
	t.Run("Alarms", func(t *testing.T) {
		alarms := r.tmpl.ResourcesOfType("AWS::CloudWatch::Alarm")
		var dlqs []string
		if f, ok := r.functions["AuditStreamFunction"]; ok {
			for _, ev := range f.StreamEvents {
				if id, _, ok := samtemplate.RefTarget(ev.OnFailure); ok {
					dlqs = append(dlqs, id)
				}
			}
		}
		want := []struct {
			what, namespace, metric, dimension string
			targets                            []string
		}{
			{"authorizer errors", "AWS/Lambda", "Errors", "FunctionName", []string{"AuthorizerFunction"}},
			{"stream iterator age", "AWS/Lambda", "IteratorAge", "FunctionName", []string{"AuditStreamFunction"}},
			{"DLQ depth", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlqs},
		}
		for _, w := range want {
			if len(w.targets) == 0 {
				t.Errorf("alarm on %s: no DLQ to watch yet", w.what)
				continue
			}
			for _, target := range w.targets {
				id := findAlarm(alarms, w.namespace, w.metric, w.dimension, target)
				if id == "" {
					t.Errorf("no alarm on %s: want an AWS::CloudWatch::Alarm on %s %s with dimension %s of %s", w.what, w.namespace, w.metric, w.dimension, target)
					continue
				}
				actions := asList(alarms[id].Properties["AlarmActions"])
				if len(actions) == 0 {
					t.Errorf("alarm %s has no AlarmActions", id)
				}
				for _, a := range actions {
					if topic, _, ok := samtemplate.RefTarget(a); !ok || resources[topic].Type != "AWS::SNS::Topic" {
						t.Errorf("alarm %s: action %v is not an SNS topic of the template", id, a)
					}
				}
			}
		}
	})
	t.Run("Outputs", func(t *testing.T) {
		outputs, _ := raw["Outputs"].(map[string]any)
		for _, name := range []string{"ApiUrl", "KeysTableName", "AuditTableName", "KmsKeyArn", "AuthorizerFunctionArn"} {
			if _, ok := outputs[name]; !ok {
				t.Errorf("output %s is missing", name)
			}
		}
	})
}

// findAlarm returns the alarm watching namespace/metric for the resource
// target (by a Ref or Fn::GetAtt in dimension), or "". The metric may be the
// alarm's own or one of its metric math Metrics.
func findAlarm(alarms map[string]samtemplate.Resource, namespace, metric, dimension, target string) string {
	for _, id := range sortedKeys(alarms) {
		p := alarms[id].Properties
		candidates := []any{p}
		for _, m := range asList(p["Metrics"]) {
			candidates = append(candidates, lookupPath(m, "MetricStat", "Metric"))
		}
		for _, c := range candidates {
			m, _ := c.(map[string]any)
			if m["Namespace"] != namespace || m["MetricName"] != metric {
				continue
			}
			for _, d := range asList(m["Dimensions"]) {
				dm, _ := d.(map[string]any)
				if dm["Name"] != dimension {
					continue
				}
				if ref, _, ok := samtemplate.RefTarget(dm["Value"]); ok && ref == target {
					return id
				}
			}
		}
	}
	return ""
}

// checkErrorBody reports why a gateway response body does not render to
// the API's error shape {"error":{"code":…,"message":…}}, or "". API Gateway
// substitutes $context variables first: $context.error.messageString is
// already a quoted JSON string, $context.error.message is not.
func checkErrorBody(body string) string {
	rendered := strings.NewReplacer(
		"$context.error.messageString", `"Missing Authentication Token"`,
		"$context.error.message", "Missing Authentication Token",
	).Replace(body)
	var v struct {
		Error *struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(rendered), &v); err != nil {
		return "the body API Gateway renders is not JSON (" + err.Error() + "): " + rendered
	}
	if v.Error == nil || v.Error.Code == nil || v.Error.Message == nil {
		return `the body is not {"error":{"code":…,"message":…}}: ` + rendered
	}
	return ""
}

func lookupPath(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func isRefTo(v any, name string) bool {
	id, attr, ok := samtemplate.RefTarget(v)
	return ok && id == name && attr == ""
}

func TestCheckErrorBody(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"error":{"code":"unauthorized","message":"missing or invalid credentials"}}`:  true,
		`{"error":{"code":"invalid_request","message":$context.error.messageString}}`:   true,
		`{"error":{"code":"invalid_request","message":"$context.error.message"}}`:       true,
		`{"error":{"code":"invalid_request","message":"$context.error.messageString"}}`: false,
		`{"code":"internal"}`: false,
	} {
		if got := checkErrorBody(body) == ""; got != ok {
			t.Errorf("checkErrorBody(%s) ok = %v, want %v", body, got, ok)
		}
	}
}
