package samtemplate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SAM resource types read by ServerlessFunctions and ServerlessAPIs.
const (
	ServerlessFunctionType = "AWS::Serverless::Function"
	ServerlessAPIType      = "AWS::Serverless::Api"
	ServerlessHTTPAPIType  = "AWS::Serverless::HttpApi"
)

// ImplicitAPIID is the logical ID SAM gives the REST API it creates for Api
// events that name no RestApiId.
const ImplicitAPIID = "ServerlessRestApi"

// ImplicitHTTPAPIID is the logical ID SAM gives the HTTP API it creates for
// HttpApi events that name no ApiId (its stage is $default).
const ImplicitHTTPAPIID = "ServerlessHttpApi"

// SAM's defaults for properties a template may leave out.
const (
	DefaultFunctionTimeout    = 3   // seconds
	DefaultFunctionMemorySize = 128 // MB
	DefaultReauthorizeEvery   = 300 // seconds
	DefaultStreamBatchSize    = 100
	implicitAPIStage          = "Prod"
)

// ServerlessFunction is an AWS::Serverless::Function with the template's
// Globals.Function merged in the way SAM merges them: mappings (such as
// Environment.Variables) key by key with the function's values winning,
// everything else replaced by the function's value.
type ServerlessFunction struct {
	// LogicalID is the resource's logical ID, also its name in a local run.
	LogicalID string
	// CodeURI is CodeUri when it is a plain string ("" otherwise).
	CodeURI string
	// Handler, Runtime and Architectures are as written (resolved strings).
	Handler       string
	Runtime       string
	Architectures []string
	// BuildMethod is Metadata.BuildMethod ("makefile", "go1.x", ...).
	BuildMethod string
	// Timeout is in seconds (SAM default 3); MemorySize in MB (default 128).
	Timeout    int
	MemorySize int
	// Environment holds Environment.Variables unresolved: values may be
	// intrinsics naming resources, which only the caller can answer (see
	// ResolveString).
	Environment map[string]any
	// LogFormat, ApplicationLogLevel and SystemLogLevel come from
	// LoggingConfig ("" when not set).
	LogFormat           string
	ApplicationLogLevel string
	SystemLogLevel      string
	// APIEvents are the function's Api and HttpApi events, sorted by name.
	APIEvents []APIEvent
	// StreamEvents are its DynamoDB (and Kinesis) events, sorted by name.
	StreamEvents []StreamEvent
	// ScheduleEvents are its Schedule events (rate expressions), sorted by name.
	ScheduleEvents []ScheduleEvent
	// Properties are the merged properties, intrinsics in long form.
	Properties map[string]any
}

// APIEvent is a function's Api event: one route of a REST API.
type APIEvent struct {
	// Name is the event's key under Events.
	Name string
	// API is the logical ID of the AWS::Serverless::Api it belongs to, or
	// ImplicitAPIID.
	API string
	// Method is upper case ("GET", or "ANY"); Path is as written, e.g.
	// "/v1/keys/{keyId}".
	Method string
	Path   string
	// Authorizer is Auth.Authorizer: "" for the API's default authorizer,
	// "NONE" for none, else an authorizer's name.
	Authorizer string
	// HTTP is set for an HttpApi event (a route of an HTTP API, API is its
	// ApiId or ImplicitHTTPAPIID); PayloadFormatVersion is then its
	// integration's payload format ("2.0" by default, or "1.0").
	HTTP                 bool
	PayloadFormatVersion string
}

// StreamEvent is a function's DynamoDB or Kinesis event source mapping.
type StreamEvent struct {
	// Name is the event's key under Events; Type is "DynamoDB" or "Kinesis".
	Name string
	Type string
	// Stream is the Stream property unresolved, typically
	// {"Fn::GetAtt": ["Table", "StreamArn"]}; see StreamTable.
	Stream any
	// StreamTable is the logical ID of the table whose StreamArn Stream
	// names, when it does so directly ("" otherwise).
	StreamTable string
	// StartingPosition is TRIM_HORIZON, LATEST or AT_TIMESTAMP.
	StartingPosition string
	// BatchSize defaults to 100.
	BatchSize int
	// MaximumBatchingWindowInSeconds is how long to gather records before
	// invoking with fewer than BatchSize (0 by default).
	MaximumBatchingWindowInSeconds int
	// MaximumRetryAttempts is nil when not set (AWS then retries until the
	// records expire).
	MaximumRetryAttempts *int
	// BisectBatchOnFunctionError splits a failing batch in two.
	BisectBatchOnFunctionError bool
	// ReportBatchItemFailures is set when FunctionResponseTypes lists it.
	ReportBatchItemFailures bool
	// FilterPatterns are the FilterCriteria.Filters[].Pattern JSON strings.
	FilterPatterns []string
	// OnFailure is DestinationConfig.OnFailure.Destination unresolved (nil
	// when absent).
	OnFailure any
	// Enabled is false only when the template says Enabled: false.
	Enabled bool
}

// ScheduleEvent is a function's Schedule event with a rate expression.
type ScheduleEvent struct {
	Name string
	// Rate is the interval of rate(N unit).
	Rate time.Duration
	// Enabled is false only when the template says Enabled: false.
	Enabled bool
}

// ServerlessAPI is an AWS::Serverless::Api (or the implicit API) as a local
// gateway needs it.
type ServerlessAPI struct {
	// LogicalID is the API's logical ID (ImplicitAPIID for the implicit one).
	LogicalID string
	// HTTP is set for an AWS::Serverless::HttpApi (API Gateway v2).
	HTTP bool
	// StageName is the resolved StageName.
	StageName string
	// DefaultAuthorizer is Auth.DefaultAuthorizer ("" for none).
	DefaultAuthorizer string
	// Authorizers are the Lambda authorizers of Auth.Authorizers by name.
	Authorizers map[string]LambdaAuthorizer
	// GatewayResponses are keyed by response type (UNAUTHORIZED, ...).
	GatewayResponses map[string]GatewayResponse
}

// LambdaAuthorizer is one Lambda (TOKEN or REQUEST) authorizer of an API.
type LambdaAuthorizer struct {
	// Function is the logical ID of the function that FunctionArn names
	// with !GetAtt F.Arn or !Ref F ("" when it imports one).
	Function string
	// Import is the export name FunctionArn imports with !ImportValue (a
	// protected API attaching another stack's authorizer), resolved.
	Import string
	// PayloadType is "TOKEN" (SAM's default) or "REQUEST".
	PayloadType string
	// Headers, QueryStrings and Context are the identity sources (for TOKEN
	// authorizers Headers holds Identity.Header, default Authorization);
	// Context names $context variables without the prefix, e.g.
	// "identity.sourceIp", "httpMethod", "resourcePath".
	Headers      []string
	QueryStrings []string
	Context      []string
	// ReauthorizeEvery is the result cache TTL in seconds (0 disables; SAM's
	// default is 300).
	ReauthorizeEvery int
	// PayloadFormatVersion ("1.0" or "2.0") and SimpleResponses are an
	// HTTP API authorizer's AuthorizerPayloadFormatVersion and
	// EnableSimpleResponses (PayloadType is then "REQUEST").
	PayloadFormatVersion string
	SimpleResponses      bool
}

// GatewayResponse is one entry of an API's GatewayResponses.
type GatewayResponse struct {
	// StatusCode is 0 when the template keeps the type's default status.
	StatusCode int
	// Templates maps content types to body templates.
	Templates map[string]string
	// Headers maps header names to values with the quotes removed
	// ("'application/json'" → "application/json").
	Headers map[string]string
}

// ServerlessFunctions returns every AWS::Serverless::Function, Globals
// merged, keyed by logical ID. params answers Ref, Fn::GetAtt and Fn::Sub
// in the scalar properties it resolves (Timeout, BatchSize, ...), the way
// ResolveString does; parameters missing from it take their defaults.
func (t *Template) ServerlessFunctions(params map[string]string) (map[string]*ServerlessFunction, error) {
	params = t.ParameterValues(params)
	globals, _ := t.globals("Function")
	out := make(map[string]*ServerlessFunction)
	for id, r := range t.ResourcesOfType(ServerlessFunctionType) {
		f, err := newServerlessFunction(id, mergeGlobals(globals, r.Properties), r.Metadata, params)
		if err != nil {
			return nil, fmt.Errorf("samtemplate: function %s: %w", id, err)
		}
		out[id] = f
	}
	return out, nil
}

// ServerlessAPIs returns every AWS::Serverless::Api and
// AWS::Serverless::HttpApi keyed by logical ID, Globals.Api (or
// Globals.HttpApi) merged, plus the implicit APIs (ImplicitAPIID,
// ImplicitHTTPAPIID) when some Api or HttpApi event names no API.
func (t *Template) ServerlessAPIs(params map[string]string) (map[string]*ServerlessAPI, error) {
	params = t.ParameterValues(params)
	globals, _ := t.globals("Api")
	httpGlobals, _ := t.globals("HttpApi")
	props := make(map[string]map[string]any)
	isHTTP := map[string]bool{}
	for id, r := range t.ResourcesOfType(ServerlessAPIType) {
		props[id] = mergeGlobals(globals, r.Properties)
	}
	for id, r := range t.ResourcesOfType(ServerlessHTTPAPIType) {
		props[id] = mergeGlobals(httpGlobals, r.Properties)
		isHTTP[id] = true
	}
	fns, err := t.ServerlessFunctions(params)
	if err != nil {
		return nil, err
	}
	for _, f := range fns {
		for _, e := range f.APIEvents {
			switch {
			case e.API == ImplicitAPIID && props[ImplicitAPIID] == nil:
				p := mergeGlobals(globals, map[string]any{})
				if _, ok := p["StageName"]; !ok {
					p["StageName"] = implicitAPIStage
				}
				props[ImplicitAPIID] = p
			case e.API == ImplicitHTTPAPIID && props[ImplicitHTTPAPIID] == nil:
				props[ImplicitHTTPAPIID] = mergeGlobals(httpGlobals, map[string]any{})
				isHTTP[ImplicitHTTPAPIID] = true
			}
		}
	}
	out := make(map[string]*ServerlessAPI)
	for id, p := range props {
		api, err := newServerlessAPI(id, p, params, isHTTP[id])
		if err != nil {
			return nil, fmt.Errorf("samtemplate: api %s: %w", id, err)
		}
		out[id] = api
	}
	return out, nil
}

// RefTarget returns the logical ID (and attribute, for Fn::GetAtt) that v
// names when it is {"Ref": id} or {"Fn::GetAtt": [id, attr]}.
func RefTarget(v any) (logicalID, attr string, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", "", false
	}
	if id, isStr := m["Ref"].(string); isStr {
		return id, "", true
	}
	if parts, isList := m["Fn::GetAtt"].([]any); isList && len(parts) == 2 {
		id, ok1 := parts[0].(string)
		a, ok2 := parts[1].(string)
		if ok1 && ok2 {
			return id, a, true
		}
	}
	return "", "", false
}

// globals returns Globals.<section> (nil when absent).
func (t *Template) globals(section string) (map[string]any, bool) {
	g, _ := t.doc["Globals"].(map[string]any)
	s, ok := g[section].(map[string]any)
	return s, ok
}

// mergeGlobals overlays props on globals: mappings merge key by key
// (props winning), anything else in props replaces the global value.
// Intrinsics are replaced whole, never merged.
func mergeGlobals(globals, props map[string]any) map[string]any {
	out := make(map[string]any, len(globals)+len(props))
	for k, v := range globals {
		out[k] = v
	}
	for k, v := range props {
		gm, gok := out[k].(map[string]any)
		pm, pok := v.(map[string]any)
		if gok && pok && !isIntrinsic(gm) && !isIntrinsic(pm) {
			out[k] = mergeGlobals(gm, pm)
			continue
		}
		out[k] = v
	}
	return out
}

func newServerlessFunction(id string, p, meta map[string]any, params map[string]string) (*ServerlessFunction, error) {
	r := reader{params: params}
	f := &ServerlessFunction{LogicalID: id, Properties: p, Environment: map[string]any{}, Timeout: DefaultFunctionTimeout, MemorySize: DefaultFunctionMemorySize}
	if s, ok := p["CodeUri"].(string); ok {
		f.CodeURI = s
	}
	f.BuildMethod, _ = meta["BuildMethod"].(string)
	var err error
	if f.Handler, err = r.optString(p, "Handler"); err != nil {
		return nil, err
	}
	if f.Runtime, err = r.optString(p, "Runtime"); err != nil {
		return nil, err
	}
	if f.Architectures, err = r.stringList(p["Architectures"], "Architectures"); err != nil {
		return nil, err
	}
	if f.Timeout, err = r.optInt(p, "Timeout", f.Timeout); err != nil {
		return nil, err
	}
	if f.MemorySize, err = r.optInt(p, "MemorySize", f.MemorySize); err != nil {
		return nil, err
	}
	if env, ok := p["Environment"].(map[string]any); ok {
		if vars, ok := env["Variables"].(map[string]any); ok {
			for k, v := range vars {
				f.Environment[k] = v
			}
		}
	}
	if lc, ok := p["LoggingConfig"].(map[string]any); ok {
		if f.LogFormat, err = r.optString(lc, "LogFormat"); err != nil {
			return nil, err
		}
		if f.ApplicationLogLevel, err = r.optString(lc, "ApplicationLogLevel"); err != nil {
			return nil, err
		}
		if f.SystemLogLevel, err = r.optString(lc, "SystemLogLevel"); err != nil {
			return nil, err
		}
	}
	events, _ := p["Events"].(map[string]any)
	names := make([]string, 0, len(events))
	for name := range events {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ev, ok := events[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("event %s is not a mapping", name)
		}
		typ, _ := ev["Type"].(string)
		ep, _ := ev["Properties"].(map[string]any)
		switch typ {
		case "Api":
			e, err := r.apiEvent(name, ep)
			if err != nil {
				return nil, fmt.Errorf("event %s: %w", name, err)
			}
			f.APIEvents = append(f.APIEvents, e)
		case "HttpApi":
			e, err := r.httpAPIEvent(name, ep)
			if err != nil {
				return nil, fmt.Errorf("event %s: %w", name, err)
			}
			f.APIEvents = append(f.APIEvents, e)
		case "DynamoDB", "Kinesis":
			e, err := r.streamEvent(name, typ, ep)
			if err != nil {
				return nil, fmt.Errorf("event %s: %w", name, err)
			}
			f.StreamEvents = append(f.StreamEvents, e)
		case "Schedule", "ScheduleV2": // an EventBridge rule, or EventBridge Scheduler
			e, err := r.scheduleEvent(name, typ, ep)
			if err != nil {
				return nil, fmt.Errorf("event %s: %w", name, err)
			}
			f.ScheduleEvents = append(f.ScheduleEvents, e)
		}
	}
	return f, nil
}

func (r reader) apiEvent(name string, p map[string]any) (APIEvent, error) {
	e := APIEvent{Name: name, API: ImplicitAPIID}
	if v, ok := p["RestApiId"]; ok {
		id, _, ok := RefTarget(v)
		if !ok {
			return e, fmt.Errorf("RestApiId must be !Ref of an API")
		}
		e.API = id
	}
	var err error
	if e.Path, err = r.optString(p, "Path"); err != nil {
		return e, err
	}
	if e.Method, err = r.optString(p, "Method"); err != nil {
		return e, err
	}
	if e.Path == "" || e.Method == "" {
		return e, fmt.Errorf("an Api event needs Path and Method")
	}
	e.Method = strings.ToUpper(e.Method)
	if auth, ok := p["Auth"].(map[string]any); ok {
		if e.Authorizer, err = r.optString(auth, "Authorizer"); err != nil {
			return e, err
		}
	}
	return e, nil
}

// httpAPIEvent reads an HttpApi event: one route of an HTTP API.
func (r reader) httpAPIEvent(name string, p map[string]any) (APIEvent, error) {
	e := APIEvent{Name: name, API: ImplicitHTTPAPIID, HTTP: true, PayloadFormatVersion: "2.0"}
	if v, ok := p["ApiId"]; ok {
		id, _, ok := RefTarget(v)
		if !ok {
			return e, fmt.Errorf("ApiId must be !Ref of an HTTP API")
		}
		e.API = id
	}
	var err error
	if e.Path, err = r.optString(p, "Path"); err != nil {
		return e, err
	}
	if e.Method, err = r.optString(p, "Method"); err != nil {
		return e, err
	}
	if e.Path == "" || e.Method == "" {
		return e, fmt.Errorf("an HttpApi event needs Path and Method (the $default route is not read)")
	}
	e.Method = strings.ToUpper(e.Method)
	if v, err := r.optString(p, "PayloadFormatVersion"); err != nil {
		return e, err
	} else if v != "" {
		e.PayloadFormatVersion = v
	}
	if auth, ok := p["Auth"].(map[string]any); ok {
		if e.Authorizer, err = r.optString(auth, "Authorizer"); err != nil {
			return e, err
		}
	}
	return e, nil
}

// scheduleEvent reads a Schedule event; only rate(N minute[s]|hour[s]|day[s])
// expressions are understood.
func (r reader) scheduleEvent(name, typ string, p map[string]any) (ScheduleEvent, error) {
	e := ScheduleEvent{Name: name, Enabled: true}
	prop := "Schedule"
	if typ == "ScheduleV2" {
		prop = "ScheduleExpression"
	}
	expr, err := r.optString(p, prop)
	if err != nil {
		return e, err
	}
	if e.Enabled, err = r.optBool(p, "Enabled", true); err != nil {
		return e, err
	}
	if e.Rate, err = ParseRate(expr); err != nil {
		return e, err
	}
	return e, nil
}

// ParseRate reads an EventBridge rate expression: rate(1 minute),
// rate(5 minutes), rate(1 hour), rate(2 days).
func ParseRate(expr string) (time.Duration, error) {
	inner, ok := strings.CutPrefix(strings.TrimSpace(expr), "rate(")
	inner, ok2 := strings.CutSuffix(inner, ")")
	n, unit, ok3 := strings.Cut(strings.TrimSpace(inner), " ")
	v, err := strconv.Atoi(n)
	if !ok || !ok2 || !ok3 || err != nil || v < 1 {
		return 0, fmt.Errorf("schedule %q is not a rate expression such as rate(1 minute)", expr)
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	d, ok := units[strings.TrimSuffix(unit, "s")]
	if !ok || (v == 1) != !strings.HasSuffix(unit, "s") {
		return 0, fmt.Errorf("schedule %q: the unit must be minute, minutes, hour, hours, day or days", expr)
	}
	return time.Duration(v) * d, nil
}

func (r reader) streamEvent(name, typ string, p map[string]any) (StreamEvent, error) {
	e := StreamEvent{Name: name, Type: typ, Stream: p["Stream"], BatchSize: DefaultStreamBatchSize, Enabled: true}
	if id, attr, ok := RefTarget(e.Stream); ok && attr == "StreamArn" {
		e.StreamTable = id
	}
	var err error
	if e.StartingPosition, err = r.optString(p, "StartingPosition"); err != nil {
		return e, err
	}
	if e.BatchSize, err = r.optInt(p, "BatchSize", e.BatchSize); err != nil {
		return e, err
	}
	if e.MaximumBatchingWindowInSeconds, err = r.optInt(p, "MaximumBatchingWindowInSeconds", 0); err != nil {
		return e, err
	}
	if _, ok := p["MaximumRetryAttempts"]; ok {
		n, err := r.optInt(p, "MaximumRetryAttempts", 0)
		if err != nil {
			return e, err
		}
		e.MaximumRetryAttempts = &n
	}
	if e.BisectBatchOnFunctionError, err = r.optBool(p, "BisectBatchOnFunctionError", false); err != nil {
		return e, err
	}
	if e.Enabled, err = r.optBool(p, "Enabled", true); err != nil {
		return e, err
	}
	types, err := r.stringList(p["FunctionResponseTypes"], "FunctionResponseTypes")
	if err != nil {
		return e, err
	}
	for _, t := range types {
		if t == "ReportBatchItemFailures" {
			e.ReportBatchItemFailures = true
		}
	}
	if fc, ok := p["FilterCriteria"].(map[string]any); ok {
		filters, _ := fc["Filters"].([]any)
		for i, f := range filters {
			fm, ok := f.(map[string]any)
			if !ok {
				return e, fmt.Errorf("FilterCriteria.Filters[%d] is not a mapping", i)
			}
			pat, err := r.optString(fm, "Pattern")
			if err != nil {
				return e, fmt.Errorf("FilterCriteria.Filters[%d]: %w", i, err)
			}
			e.FilterPatterns = append(e.FilterPatterns, pat)
		}
	}
	if dc, ok := p["DestinationConfig"].(map[string]any); ok {
		if of, ok := dc["OnFailure"].(map[string]any); ok {
			e.OnFailure = of["Destination"]
		}
	}
	return e, nil
}

func newServerlessAPI(id string, p map[string]any, params map[string]string, http bool) (*ServerlessAPI, error) {
	r := reader{params: params}
	api := &ServerlessAPI{LogicalID: id, HTTP: http, Authorizers: map[string]LambdaAuthorizer{}, GatewayResponses: map[string]GatewayResponse{}}
	var err error
	if api.StageName, err = r.optString(p, "StageName"); err != nil {
		return nil, err
	}
	if http && api.StageName == "" {
		api.StageName = "$default"
	}
	if auth, ok := p["Auth"].(map[string]any); ok {
		if api.DefaultAuthorizer, err = r.optString(auth, "DefaultAuthorizer"); err != nil {
			return nil, err
		}
		as, _ := auth["Authorizers"].(map[string]any)
		for name, v := range as {
			am, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("authorizer %s is not a mapping", name)
			}
			if _, ok := am["FunctionArn"]; !ok {
				continue // a Cognito authorizer: not a Lambda one
			}
			a, err := r.lambdaAuthorizer(am, http)
			if err != nil {
				return nil, fmt.Errorf("authorizer %s: %w", name, err)
			}
			api.Authorizers[name] = a
		}
	}
	grs, _ := p["GatewayResponses"].(map[string]any)
	for typ, v := range grs {
		gm, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("GatewayResponses.%s is not a mapping", typ)
		}
		gr := GatewayResponse{Templates: map[string]string{}, Headers: map[string]string{}}
		if gr.StatusCode, err = r.optInt(gm, "StatusCode", 0); err != nil {
			return nil, fmt.Errorf("GatewayResponses.%s: %w", typ, err)
		}
		tpls, _ := gm["ResponseTemplates"].(map[string]any)
		for ct, tv := range tpls {
			s, err := ResolveString(tv, params)
			if err != nil {
				return nil, fmt.Errorf("GatewayResponses.%s.ResponseTemplates: %w", typ, err)
			}
			gr.Templates[ct] = s
		}
		rp, _ := gm["ResponseParameters"].(map[string]any)
		hs, _ := rp["Headers"].(map[string]any)
		for h, hv := range hs {
			s, err := ResolveString(hv, params)
			if err != nil {
				return nil, fmt.Errorf("GatewayResponses.%s.ResponseParameters.Headers: %w", typ, err)
			}
			gr.Headers[h] = strings.TrimSuffix(strings.TrimPrefix(s, "'"), "'")
		}
		api.GatewayResponses[typ] = gr
	}
	return api, nil
}

func (r reader) lambdaAuthorizer(m map[string]any, http bool) (LambdaAuthorizer, error) {
	a := LambdaAuthorizer{PayloadType: "TOKEN", ReauthorizeEvery: DefaultReauthorizeEvery}
	var err error
	if http {
		// An HTTP API's Lambda authorizer is always a REQUEST one.
		a.PayloadType = "REQUEST"
		if a.PayloadFormatVersion, err = r.optString(m, "AuthorizerPayloadFormatVersion"); err != nil {
			return a, err
		}
		if a.SimpleResponses, err = r.optBool(m, "EnableSimpleResponses", false); err != nil {
			return a, err
		}
	}
	if fa, ok := m["FunctionArn"].(map[string]any); ok && fa["Fn::ImportValue"] != nil {
		if a.Import, err = ResolveString(fa["Fn::ImportValue"], r.params); err != nil {
			return a, fmt.Errorf("FunctionArn: !ImportValue: %w", err)
		}
	} else if id, _, ok := RefTarget(m["FunctionArn"]); ok {
		a.Function = id
	} else {
		return a, fmt.Errorf("FunctionArn must be !GetAtt <Function>.Arn or !ImportValue <export>")
	}
	if pt, err := r.optString(m, "FunctionPayloadType"); err != nil {
		return a, err
	} else if pt != "" && !http {
		a.PayloadType = strings.ToUpper(pt)
	}
	ident, _ := m["Identity"].(map[string]any)
	if a.ReauthorizeEvery, err = r.optInt(ident, "ReauthorizeEvery", a.ReauthorizeEvery); err != nil {
		return a, err
	}
	if a.PayloadType == "TOKEN" {
		h, err := r.optString(ident, "Header")
		if err != nil {
			return a, err
		}
		if h == "" {
			h = "Authorization"
		}
		a.Headers = []string{h}
		return a, nil
	}
	if a.Headers, err = r.stringList(ident["Headers"], "Identity.Headers"); err != nil {
		return a, err
	}
	if a.QueryStrings, err = r.stringList(ident["QueryStrings"], "Identity.QueryStrings"); err != nil {
		return a, err
	}
	if a.Context, err = r.stringList(ident["Context"], "Identity.Context"); err != nil {
		return a, err
	}
	return a, nil
}

// reader resolves scalar properties through ResolveString.
type reader struct {
	params map[string]string
}

func (r reader) optString(m map[string]any, key string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, err := ResolveString(v, r.params)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return s, nil
}

func (r reader) optInt(m map[string]any, key string, def int) (int, error) {
	s, err := r.optString(m, key)
	if err != nil || s == "" {
		return def, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a whole number", key, s)
	}
	return n, nil
}

func (r reader) optBool(m map[string]any, key string, def bool) (bool, error) {
	s, err := r.optString(m, key)
	if err != nil || s == "" {
		return def, err
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not a boolean", key, s)
	}
	return b, nil
}

// stringList resolves a list of strings (a single string is a list of one).
func (r reader) stringList(v any, path string) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, err := ResolveString(e, r.params)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", path, i, err)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		s, err := ResolveString(v, r.params)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return []string{s}, nil
	}
}

// Exports returns the template's Outputs that have an Export, keyed by the
// export name resolved through params (so ${AWS::StackName} takes the
// caller's stack name), with each output's Value unresolved.
func (t *Template) Exports(params map[string]string) (map[string]any, error) {
	params = t.ParameterValues(params)
	outs, _ := t.doc["Outputs"].(map[string]any)
	exports := make(map[string]any)
	for id, o := range outs {
		om, _ := o.(map[string]any)
		ex, _ := om["Export"].(map[string]any)
		if ex == nil {
			continue
		}
		name, err := ResolveString(ex["Name"], params)
		if err != nil {
			return nil, fmt.Errorf("samtemplate: output %s: Export.Name: %w", id, err)
		}
		exports[name] = om["Value"]
	}
	return exports, nil
}
