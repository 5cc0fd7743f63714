// Package gatewayemu emulates an API Gateway REST API stage with Lambda
// proxy integrations and Lambda (REQUEST or TOKEN) authorizers, or an HTTP
// API stage (Config.HTTP, see httpapi.go), for running a SAM application
// on this machine. It is development tooling, not for
// production.
//
// What it reproduces, because keyward's behaviour depends on it:
//
//   - resources with {param} and {param+} segments, the most specific one
//     winning; an unknown path or method is MISSING_AUTHENTICATION_TOKEN;
//   - the authorizer: with caching on, a missing identity source is 401
//     without invoking it; the event carries methodArn
//     arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/<path>;
//     the returned policy is evaluated against the method ARN as IAM does
//     (* is any run of characters, / included, ? one character; an
//     explicit Deny wins over any Allow); an error "Unauthorized" is 401, a
//     Deny or no matching Allow is 403, any other error or a malformed
//     output is 500; results are cached for the authorizer's TTL under the
//     values of its identity sources (headers, query strings and $context
//     variables such as identity.sourceIp, httpMethod and resourcePath), and
//     a cached policy is evaluated again for every request it serves, on
//     whatever route that is;
//   - the authorizer's principalId and context in
//     requestContext.authorizer (context values as strings, as API Gateway
//     passes them), and the rest of the proxy event;
//   - GatewayResponses: status codes, headers and body templates, with the
//     common $context variables and the authorizer's context
//     ($context.authorizer.<key>, e.g. a Deny's reason);
//   - FlushStageAuthorizersCache (and v2's ResetAuthorizersCache), through
//     ManagementAPI.
//
// The Authorization header (or any identity source) is never logged.
package gatewayemu

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/workbench/localaws"
)

// Defaults for the zero values of Config.
const (
	DefaultRegion             = localaws.Region
	DefaultAccount            = localaws.Account
	DefaultIntegrationTimeout = 29 * time.Second
	// MaxBodyBytes is API Gateway's payload limit (10 MB).
	MaxBodyBytes = 10 << 20
)

// InvokeFunc invokes a function synchronously with a JSON payload. It
// returns the function's payload and whether it is a function error
// (Lambda's X-Amz-Function-Error); err is for invocations that did not run.
type InvokeFunc func(ctx context.Context, function string, payload []byte) (out []byte, functionError bool, err error)

// Authorizer is a Lambda authorizer of the API.
type Authorizer struct {
	// Function is the authorizer function's name.
	Function string
	// Type is "REQUEST" or "TOKEN".
	Type string
	// Headers, QueryStrings and Context are the identity sources; Context
	// names $context variables without the prefix (identity.sourceIp,
	// identity.userAgent, stage, apiId, httpMethod, resourcePath).
	Headers      []string
	QueryStrings []string
	Context      []string
	// TTL is how long a result is cached per identity value (0: never).
	TTL time.Duration
	// PayloadFormatVersion and SimpleResponses describe an HTTP API's
	// authorizer; only "2.0" with simple responses is emulated.
	PayloadFormatVersion string
	SimpleResponses      bool
}

// GatewayResponse customises the response API Gateway sends for one
// response type (UNAUTHORIZED, ACCESS_DENIED, DEFAULT_4XX, ...).
type GatewayResponse struct {
	// StatusCode replaces the type's default status when not 0.
	StatusCode int
	// Templates maps content types to body templates.
	Templates map[string]string
	// Headers are added to the response.
	Headers map[string]string
}

// Config describes one API stage.
type Config struct {
	// HTTP makes the stage an HTTP API's (API Gateway v2): see httpapi.go.
	HTTP bool
	// APIID is the REST API's ID (as in requestContext.apiId and the
	// method ARN); Stage its stage name.
	APIID string
	Stage string
	// Region and Account make up ARNs (defaults us-east-1, 000000000000).
	Region  string
	Account string
	// Routes are the API's resources and methods.
	Routes []Route
	// Authorizers are keyed by name, as Route.Authorizer refers to them.
	Authorizers map[string]Authorizer
	// GatewayResponses are keyed by response type.
	GatewayResponses map[string]GatewayResponse
	// Invoke runs the integration and authorizer functions.
	Invoke InvokeFunc
	// IntegrationTimeout bounds an integration call (default 29 s, API
	// Gateway's limit).
	IntegrationTimeout time.Duration
	// Logger receives one access-log line per request; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock for the authorizer cache (default time.Now).
	Now func() time.Time
}

// Gateway is one emulated API stage; it is an http.Handler.
type Gateway struct {
	cfg       Config
	resources []*resource
	log       *slog.Logger

	mu      sync.Mutex
	cache   map[string]cacheEntry   // authorizer name + identity → result
	v2cache map[string]v2CacheEntry // the same, for an HTTP API
}

type cacheEntry struct {
	result  *authResult
	expires time.Time
}

var _ http.Handler = (*Gateway)(nil)

// New checks cfg and returns the Gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.APIID == "" || cfg.Stage == "" {
		return nil, errors.New("gatewayemu: APIID and Stage are required")
	}
	if cfg.Invoke == nil {
		return nil, errors.New("gatewayemu: Invoke is required")
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Account == "" {
		cfg.Account = DefaultAccount
	}
	if cfg.IntegrationTimeout <= 0 {
		cfg.IntegrationTimeout = DefaultIntegrationTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	g := &Gateway{cfg: cfg, log: log, cache: map[string]cacheEntry{}, v2cache: map[string]v2CacheEntry{}}
	byPath := map[string]*resource{}
	for _, rt := range cfg.Routes {
		rt.Method = strings.ToUpper(rt.Method)
		if rt.Authorizer == "NONE" {
			rt.Authorizer = ""
		}
		if rt.Authorizer != "" {
			if _, ok := cfg.Authorizers[rt.Authorizer]; !ok {
				return nil, fmt.Errorf("gatewayemu: %s %s: no authorizer %q", rt.Method, rt.Path, rt.Authorizer)
			}
		}
		res := byPath[rt.Path]
		if res == nil {
			segs, err := parseResource(rt.Path)
			if err != nil {
				return nil, fmt.Errorf("gatewayemu: %w", err)
			}
			res = &resource{path: rt.Path, segments: segs, methods: map[string]Route{}}
			byPath[rt.Path] = res
			g.resources = append(g.resources, res)
		}
		if _, dup := res.methods[rt.Method]; dup {
			return nil, fmt.Errorf("gatewayemu: duplicate route %s %s", rt.Method, rt.Path)
		}
		res.methods[rt.Method] = rt
	}
	sort.Slice(g.resources, func(i, j int) bool { return g.resources[i].path < g.resources[j].path })
	if cfg.HTTP {
		return g, checkHTTPAPI(cfg)
	}
	for name, a := range cfg.Authorizers {
		if a.Type != "REQUEST" && a.Type != "TOKEN" {
			return nil, fmt.Errorf("gatewayemu: authorizer %s: type %q is neither REQUEST nor TOKEN", name, a.Type)
		}
		for _, c := range a.Context {
			if !contextSources[c] {
				return nil, fmt.Errorf("gatewayemu: authorizer %s: identity source $context.%s is not emulated", name, c)
			}
		}
	}
	return g, nil
}

// APIID returns the API's ID; Stage its stage.
func (g *Gateway) APIID() string { return g.cfg.APIID }

// Stage returns the stage name.
func (g *Gateway) Stage() string { return g.cfg.Stage }

// FlushAuthorizersCache drops every cached authorizer result of the stage.
func (g *Gateway) FlushAuthorizersCache() {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.cache)
	clear(g.v2cache)
}

// request is one request on its way through the stage.
type request struct {
	id       string
	start    time.Time
	r        *http.Request
	body     []byte
	sourceIP string
	route    Route
	resource string
	params   map[string]string
	authCtx  map[string]any
	// authResult is the authorizer's answer, whose context a gateway
	// response may show ($context.authorizer.<key>).
	authResult *authResult
	function   string
	errorType  string // the gateway response type sent, for the access log
}

// ServeHTTP serves one request of the stage.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{id: newID(), start: time.Now(), r: r, sourceIP: remoteIP(r)}
	var status int
	if g.cfg.HTTP {
		status = g.serveV2(w, req)
	} else {
		status = g.serve(w, req)
	}
	attrs := []any{
		"requestId", req.id, "method", r.Method, "path", r.URL.Path, "status", status,
		"ms", time.Since(req.start).Milliseconds(), "sourceIp", req.sourceIP,
	}
	if req.function != "" {
		attrs = append(attrs, "function", req.function)
	}
	if req.errorType != "" {
		attrs = append(attrs, "response", req.errorType)
	}
	g.log.Info("request", attrs...)
}

// serve handles the request and returns the status sent.
func (g *Gateway) serve(w http.ResponseWriter, req *request) int {
	r := req.r
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return g.gatewayResponse(w, req, "DEFAULT_4XX", "could not read the request body")
	}
	if len(body) > MaxBodyBytes {
		return g.gatewayResponse(w, req, "REQUEST_TOO_LARGE", "Request Too Long")
	}
	req.body = body

	route, res, params, ok := g.match(r.Method, r.URL.EscapedPath())
	if !ok {
		return g.gatewayResponse(w, req, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
	}
	req.route, req.resource, req.params = route, res, params

	if route.Authorizer != "" {
		if status, done := g.authorize(w, req); done {
			return status
		}
	}
	return g.integrate(w, req)
}

// match finds the most specific resource for the path and its method (or
// ANY).
func (g *Gateway) match(method, escapedPath string) (Route, string, map[string]string, bool) {
	parts := splitPath(escapedPath)
	var (
		best       *resource
		bestRank   []int
		bestParams map[string]string
	)
	for _, res := range g.resources {
		params, rank, ok := res.match(parts)
		if ok && (best == nil || better(rank, bestRank)) {
			best, bestRank, bestParams = res, rank, params
		}
	}
	if best == nil {
		return Route{}, "", nil, false
	}
	rt, ok := best.methods[method]
	if !ok {
		rt, ok = best.methods["ANY"]
	}
	if !ok && method == http.MethodHead {
		rt, ok = best.methods[http.MethodGet]
	}
	return rt, best.path, bestParams, ok
}

// methodARN is the ARN of the request's method, as the authorizer sees it.
func (g *Gateway) methodARN(req *request) string {
	return fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s%s", g.cfg.Region, g.cfg.Account, g.cfg.APIID, g.cfg.Stage, req.r.Method, req.r.URL.Path)
}

// authorize runs the route's authorizer (or uses its cached result). It
// returns done when it has written the response (a refusal or an error).
func (g *Gateway) authorize(w http.ResponseWriter, req *request) (int, bool) {
	a := g.cfg.Authorizers[req.route.Authorizer]
	r := req.r
	var identity []string
	missing := false
	for _, h := range a.Headers {
		v := strings.Join(r.Header.Values(h), ",")
		missing = missing || v == ""
		identity = append(identity, v)
	}
	for _, q := range a.QueryStrings {
		v := r.URL.Query().Get(q)
		missing = missing || v == ""
		identity = append(identity, v)
	}
	for _, c := range a.Context {
		v := g.contextValue(req, c)
		missing = missing || v == ""
		identity = append(identity, v)
	}
	if missing && (a.TTL > 0 || a.Type == "TOKEN") {
		return g.gatewayResponse(w, req, "UNAUTHORIZED", "Unauthorized"), true
	}
	methodARN := g.methodARN(req)
	key := req.route.Authorizer + "\x00" + strings.Join(identity, "\x00")

	var result *authResult
	if a.TTL > 0 {
		g.mu.Lock()
		if e, ok := g.cache[key]; ok && g.cfg.Now().Before(e.expires) {
			result = e.result
		}
		g.mu.Unlock()
	}
	if result == nil {
		payload, err := json.Marshal(g.authorizerEvent(req, a, methodARN, identity))
		if err != nil {
			return g.gatewayResponse(w, req, "AUTHORIZER_CONFIGURATION_ERROR", ""), true
		}
		ctx, cancel := context.WithTimeout(r.Context(), g.cfg.IntegrationTimeout)
		out, fnErr, err := g.cfg.Invoke(ctx, a.Function, payload)
		cancel()
		switch {
		case err != nil:
			g.log.Error("authorizer not invoked", "requestId", req.id, "function", a.Function, "error", err.Error())
			return g.gatewayResponse(w, req, "AUTHORIZER_FAILURE", ""), true
		case fnErr:
			var doc struct {
				ErrorMessage string `json:"errorMessage"`
			}
			_ = json.Unmarshal(out, &doc)
			if doc.ErrorMessage == "Unauthorized" {
				return g.gatewayResponse(w, req, "UNAUTHORIZED", "Unauthorized"), true
			}
			g.log.Error("authorizer failed", "requestId", req.id, "function", a.Function, "errorMessage", doc.ErrorMessage)
			return g.gatewayResponse(w, req, "AUTHORIZER_CONFIGURATION_ERROR", ""), true
		}
		if result, err = parseAuthorizerOutput(out); err != nil {
			g.log.Error("authorizer output rejected", "requestId", req.id, "function", a.Function, "error", err.Error())
			return g.gatewayResponse(w, req, "AUTHORIZER_CONFIGURATION_ERROR", ""), true
		}
		if a.TTL > 0 {
			g.mu.Lock()
			g.cache[key] = cacheEntry{result: result, expires: g.cfg.Now().Add(a.TTL)}
			g.mu.Unlock()
		}
	}
	allowed, explicit := result.allows(methodARN)
	req.authResult = result
	if !allowed {
		msg := "User is not authorized to access this resource"
		if explicit {
			msg += " with an explicit deny"
		}
		return g.gatewayResponse(w, req, "ACCESS_DENIED", msg), true
	}
	req.authCtx = map[string]any{"principalId": result.principalID}
	for k, v := range result.context {
		req.authCtx[k] = v
	}
	return 0, false
}

// contextSources are the $context variables usable as identity sources.
var contextSources = map[string]bool{
	"identity.sourceIp": true, "identity.userAgent": true, "stage": true,
	"apiId": true, "httpMethod": true, "resourcePath": true,
}

// contextValue is the value of $context.<name> for the request.
func (g *Gateway) contextValue(req *request, name string) string {
	switch name {
	case "identity.sourceIp":
		return req.sourceIP
	case "identity.userAgent":
		return req.r.UserAgent()
	case "stage":
		return g.cfg.Stage
	case "apiId":
		return g.cfg.APIID
	case "httpMethod":
		return req.r.Method
	case "resourcePath":
		return req.resource
	}
	return ""
}

// authorizerEvent builds the REQUEST or TOKEN authorizer's event.
func (g *Gateway) authorizerEvent(req *request, a Authorizer, methodARN string, identity []string) any {
	if a.Type == "TOKEN" {
		return events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: identity[0], MethodArn: methodARN}
	}
	p := g.proxyEvent(req)
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:                            "REQUEST",
		MethodArn:                       methodARN,
		Resource:                        p.Resource,
		Path:                            p.Path,
		HTTPMethod:                      p.HTTPMethod,
		Headers:                         p.Headers,
		MultiValueHeaders:               p.MultiValueHeaders,
		QueryStringParameters:           p.QueryStringParameters,
		MultiValueQueryStringParameters: p.MultiValueQueryStringParameters,
		PathParameters:                  p.PathParameters,
		StageVariables:                  p.StageVariables,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path:         p.RequestContext.Path,
			AccountID:    p.RequestContext.AccountID,
			ResourceID:   p.RequestContext.ResourceID,
			Stage:        p.RequestContext.Stage,
			RequestID:    p.RequestContext.RequestID,
			ResourcePath: p.RequestContext.ResourcePath,
			HTTPMethod:   p.RequestContext.HTTPMethod,
			APIID:        p.RequestContext.APIID,
			Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{
				SourceIP: req.sourceIP,
			},
		},
	}
}

// proxyEvent builds the Lambda proxy integration's event.
func (g *Gateway) proxyEvent(req *request) events.APIGatewayProxyRequest {
	r := req.r
	headers := map[string]string{}
	multi := map[string][]string{}
	add := func(k string, vs ...string) {
		multi[k] = append(multi[k], vs...)
		headers[k] = vs[len(vs)-1]
	}
	for k, vs := range r.Header {
		if len(vs) > 0 {
			add(k, vs...)
		}
	}
	if r.Host != "" {
		add("Host", r.Host)
	}
	add("X-Forwarded-For", req.sourceIP)
	add("X-Forwarded-Proto", "http")
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		add("X-Forwarded-Port", port)
	}
	var query map[string]string
	var multiQuery map[string][]string
	if q := r.URL.Query(); len(q) > 0 {
		query, multiQuery = map[string]string{}, map[string][]string{}
		for k, vs := range q {
			multiQuery[k] = vs
			query[k] = vs[len(vs)-1]
		}
	}
	var params map[string]string
	if len(req.params) > 0 {
		params = req.params
	}
	now := time.Now()
	ev := events.APIGatewayProxyRequest{
		Resource:                        req.resource,
		Path:                            r.URL.Path,
		HTTPMethod:                      r.Method,
		Headers:                         headers,
		MultiValueHeaders:               multi,
		QueryStringParameters:           query,
		MultiValueQueryStringParameters: multiQuery,
		PathParameters:                  params,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:         g.cfg.Account,
			ResourceID:        resourceID(req.resource),
			Stage:             g.cfg.Stage,
			RequestID:         req.id,
			ExtendedRequestID: req.id,
			RequestTime:       now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			RequestTimeEpoch:  now.UnixMilli(),
			Identity: events.APIGatewayRequestIdentity{
				SourceIP:  req.sourceIP,
				UserAgent: r.UserAgent(),
			},
			ResourcePath: req.resource,
			Path:         "/" + g.cfg.Stage + r.URL.Path,
			Protocol:     r.Proto,
			HTTPMethod:   r.Method,
			APIID:        g.cfg.APIID,
			DomainName:   r.Host,
		},
	}
	if len(req.body) > 0 {
		ev.Body = string(req.body)
	}
	return ev
}

// integrate invokes the route's function with the proxy event and writes
// its response.
func (g *Gateway) integrate(w http.ResponseWriter, req *request) int {
	ev := g.proxyEvent(req)
	if req.authCtx != nil {
		req.authCtx["integrationLatency"] = time.Since(req.start).Milliseconds()
		ev.RequestContext.Authorizer = req.authCtx
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return g.gatewayResponse(w, req, "DEFAULT_5XX", "Internal server error")
	}
	req.function = req.route.Function
	ctx, cancel := context.WithTimeout(req.r.Context(), g.cfg.IntegrationTimeout)
	defer cancel()
	out, fnErr, err := g.cfg.Invoke(ctx, req.route.Function, payload)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return g.gatewayResponseStatus(w, req, "INTEGRATION_TIMEOUT", http.StatusGatewayTimeout, "Endpoint request timed out")
	case err != nil:
		g.log.Error("integration not invoked", "requestId", req.id, "function", req.route.Function, "error", err.Error())
		return g.gatewayResponseStatus(w, req, "INTEGRATION_FAILURE", http.StatusInternalServerError, "Internal server error")
	case fnErr:
		g.log.Error("integration function failed", "requestId", req.id, "function", req.route.Function)
		return g.gatewayResponseStatus(w, req, "DEFAULT_5XX", http.StatusBadGateway, "Internal server error")
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
		g.log.Error("malformed Lambda proxy response", "requestId", req.id, "function", req.route.Function)
		return g.gatewayResponseStatus(w, req, "DEFAULT_5XX", http.StatusBadGateway, "Internal server error")
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return g.gatewayResponseStatus(w, req, "DEFAULT_5XX", http.StatusBadGateway, "Internal server error")
		}
	}
	return writeIntegration(w, req.r.Method, integrationAnswer{
		status: resp.StatusCode, multi: resp.MultiValueHeaders, single: resp.Headers, body: body,
		requestIDHeader: "X-Amzn-Requestid", requestID: req.id,
	})
}

// integrationAnswer is what a Lambda integration answered, as either
// gateway kind passes it on to the client.
type integrationAnswer struct {
	status                     int
	multi                      map[string][]string
	single                     map[string]string
	cookies                    []string
	body                       []byte
	requestIDHeader, requestID string
}

// writeIntegration writes an integration's answer: multi-value headers,
// then single-value ones over them, then cookies; JSON unless the function
// said otherwise; the gateway's request ID; no body for HEAD.
func writeIntegration(w http.ResponseWriter, method string, a integrationAnswer) int {
	h := w.Header()
	for k, vs := range a.multi {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range a.single {
		h.Set(k, v)
	}
	for _, c := range a.cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set(a.requestIDHeader, a.requestID)
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	if method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
	return a.status
}

// Response types' default status codes and x-amzn-ErrorType values.
var responseTypes = map[string]struct {
	status  int
	errType string
}{
	"ACCESS_DENIED":                  {403, "AccessDeniedException"},
	"AUTHORIZER_CONFIGURATION_ERROR": {500, "AuthorizerConfigurationException"},
	"AUTHORIZER_FAILURE":             {500, "AuthorizerFailureException"},
	"INTEGRATION_FAILURE":            {504, "InternalServerErrorException"},
	"INTEGRATION_TIMEOUT":            {504, "InternalServerErrorException"},
	"MISSING_AUTHENTICATION_TOKEN":   {403, "MissingAuthenticationTokenException"},
	"REQUEST_TOO_LARGE":              {413, "RequestTooLargeException"},
	"UNAUTHORIZED":                   {401, "UnauthorizedException"},
	"DEFAULT_4XX":                    {400, "BadRequestException"},
	"DEFAULT_5XX":                    {500, "InternalServerErrorException"},
}

// gatewayResponse sends the response of type typ with its default status.
func (g *Gateway) gatewayResponse(w http.ResponseWriter, req *request, typ, message string) int {
	return g.gatewayResponseStatus(w, req, typ, 0, message)
}

// gatewayResponseStatus sends the response of type typ: the template's
// GatewayResponse if it has one, else its DEFAULT_4XX or DEFAULT_5XX, else
// API Gateway's built-in {"message": …}. status overrides the type's
// default status (not a configured StatusCode).
func (g *Gateway) gatewayResponseStatus(w http.ResponseWriter, req *request, typ string, status int, message string) int {
	req.errorType = typ
	def := responseTypes[typ]
	if status == 0 {
		status = def.status
	}
	gr, ok := g.cfg.GatewayResponses[typ]
	if ok && gr.StatusCode != 0 {
		status = gr.StatusCode
	}
	if !ok {
		// Types without a response of their own use DEFAULT_4XX or
		// DEFAULT_5XX's body and headers, keeping their own status.
		if status < 500 {
			gr, ok = g.cfg.GatewayResponses["DEFAULT_4XX"]
		} else {
			gr, ok = g.cfg.GatewayResponses["DEFAULT_5XX"]
		}
	}
	var body string
	contentType := "application/json"
	if tpl, ct := pickTemplate(gr.Templates); ok && ct != "" {
		body, contentType = g.render(tpl, req, typ, message), ct
	} else if message == "" {
		body = `{"message":null}`
	} else {
		b, _ := json.Marshal(map[string]string{"message": message})
		body = string(b)
	}
	h := w.Header()
	for k, v := range gr.Headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", contentType)
	h.Set("X-Amzn-Requestid", req.id)
	if def.errType != "" {
		h.Set("X-Amzn-Errortype", def.errType)
	}
	w.WriteHeader(status)
	if req.r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
	return status
}

// pickTemplate prefers application/json, else the first content type.
func pickTemplate(tpls map[string]string) (string, string) {
	if t, ok := tpls["application/json"]; ok {
		return t, "application/json"
	}
	cts := make([]string, 0, len(tpls))
	for ct := range tpls {
		cts = append(cts, ct)
	}
	sort.Strings(cts)
	if len(cts) == 0 {
		return "", ""
	}
	return tpls[cts[0]], cts[0]
}

// render substitutes the $context variables a gateway response template
// may use; other VTL is left as written.
func (g *Gateway) render(tpl string, req *request, typ, message string) string {
	quoted, _ := json.Marshal(message)
	vars := map[string]string{
		"$context.error.messageString": string(quoted),
		"$context.error.message":       message,
		"$context.error.responseType":  typ,
		"$context.requestId":           req.id,
		"$context.extendedRequestId":   req.id,
		"$context.apiId":               g.cfg.APIID,
		"$context.stage":               g.cfg.Stage,
		"$context.httpMethod":          req.r.Method,
		"$context.resourcePath":        req.resource,
		"$context.path":                "/" + g.cfg.Stage + req.r.URL.Path,
		"$context.identity.sourceIp":   req.sourceIP,
	}
	if req.authResult != nil {
		vars["$context.authorizer.principalId"] = req.authResult.principalID
		for k, v := range req.authResult.context {
			vars["$context.authorizer."+k] = v
		}
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	// Longest first, so $context.error.messageString wins over
	// $context.error.message.
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	pairs := make([]string, 0, 2*len(names))
	for _, k := range names {
		pairs = append(pairs, k, vars[k])
	}
	return strings.NewReplacer(pairs...).Replace(tpl)
}

// remoteIP is the client's address without the port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// resourceID is a stable, API Gateway-like ID for a resource path.
func resourceID(path string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(path); i++ {
		h ^= uint32(path[i])
		h *= 16777619
	}
	return strconv.FormatUint(uint64(h)%2176782336, 36) // 6 base-36 characters at most
}

// newID returns a random UUID for request IDs.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
