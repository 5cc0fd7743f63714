package gatewayemu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// An HTTP API stage (Config.HTTP) is served the way API Gateway v2 serves
// one:
//
//   - routes are route keys "METHOD /path" ({param}, {param+}, ANY), the
//     most specific winning; no route is 404 {"message":"Not Found"};
//   - the Lambda integration gets payload format 2.0 (version, routeKey,
//     rawPath, rawQueryString, cookies, lower-case headers with repeated
//     values joined by commas, requestContext.http, pathParameters) or, for
//     a route with PayloadFormatVersion "1.0", the REST proxy event; a 2.0
//     answer without statusCode that is valid JSON is sent as a 200 JSON
//     body;
//   - a REQUEST Lambda authorizer with payload format 2.0 and simple
//     responses ({"isAuthorized": bool, "context": {...}}): its event's
//     identitySource holds the values of the identity sources in the order
//     the template names them (headers, query strings, then $context
//     variables such as routeKey and identity.sourceIp); a missing one is
//     401 without invoking it; an error "Unauthorized" is 401, isAuthorized
//     false 403 {"message":"Forbidden"}, anything else 500; answers are
//     cached for the TTL under the identity values, so a cached answer
//     serves every route whose identity values are the same; the context
//     reaches the integration as requestContext.authorizer.lambda, values
//     keeping their JSON types;
//   - ResetAuthorizersCache (ManagementAPI) drops the stage's cached answers.

// v2CacheEntry is a cached simple response.
type v2CacheEntry struct {
	authorized bool
	context    map[string]any
	expires    time.Time
}

// httpContextSources are the $context variables an HTTP API's authorizer
// may name as identity sources.
var httpContextSources = map[string]bool{
	"routeKey": true, "identity.sourceIp": true, "identity.userAgent": true, "stage": true, "apiId": true,
}

// checkHTTPAPI refuses what the HTTP API emulation does not cover.
func checkHTTPAPI(cfg Config) error {
	for name, a := range cfg.Authorizers {
		if a.Type != "REQUEST" || a.PayloadFormatVersion != "2.0" || !a.SimpleResponses {
			return fmt.Errorf("gatewayemu: HTTP API authorizer %s: only Lambda authorizers with payload format 2.0 and simple responses are emulated", name)
		}
		for _, c := range a.Context {
			if !httpContextSources[c] {
				return fmt.Errorf("gatewayemu: HTTP API authorizer %s: identity source $context.%s is not emulated", name, c)
			}
		}
	}
	for _, rt := range cfg.Routes {
		if v := rt.PayloadFormatVersion; v != "" && v != "1.0" && v != "2.0" {
			return fmt.Errorf("gatewayemu: %s %s: payload format %q is neither 1.0 nor 2.0", rt.Method, rt.Path, v)
		}
	}
	return nil
}

// serveV2 handles one request of an HTTP API and returns the status sent.
func (g *Gateway) serveV2(w http.ResponseWriter, req *request) int {
	r := req.r
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return v2Error(w, req, http.StatusBadRequest, "Bad Request")
	}
	if len(body) > MaxBodyBytes {
		return v2Error(w, req, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
	}
	req.body = body
	route, res, params, ok := g.match(r.Method, r.URL.EscapedPath())
	if !ok {
		return v2Error(w, req, http.StatusNotFound, "Not Found")
	}
	req.route, req.resource, req.params = route, res, params
	if route.Authorizer != "" {
		if status, done := g.authorizeV2(w, req); done {
			return status
		}
	}
	return g.integrateV2(w, req)
}

// routeKey is the matched route's key, e.g. "GET /recordings/{id}".
func (req *request) routeKey() string { return req.route.Method + " " + req.resource }

// v2Error sends an HTTP API's built-in error response.
func v2Error(w http.ResponseWriter, req *request, status int, message string) int {
	req.errorType = strconv.Itoa(status) + " " + message
	b, _ := json.Marshal(map[string]string{"message": message})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Apigw-Requestid", req.id)
	w.WriteHeader(status)
	if req.r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
	return status
}

// contextValueV2 is the value of $context.<name> on an HTTP API.
func (g *Gateway) contextValueV2(req *request, name string) string {
	switch name {
	case "routeKey":
		return req.routeKey()
	case "identity.sourceIp":
		return req.sourceIP
	case "identity.userAgent":
		return req.r.UserAgent()
	case "stage":
		return g.cfg.Stage
	case "apiId":
		return g.cfg.APIID
	}
	return ""
}

// authorizeV2 runs the route's authorizer (or uses its cached answer). It
// returns done when it has written the response.
func (g *Gateway) authorizeV2(w http.ResponseWriter, req *request) (int, bool) {
	a := g.cfg.Authorizers[req.route.Authorizer]
	r := req.r
	var identity []string
	for _, h := range a.Headers {
		identity = append(identity, strings.Join(r.Header.Values(h), ","))
	}
	for _, q := range a.QueryStrings {
		identity = append(identity, strings.Join(r.URL.Query()[q], ","))
	}
	for _, c := range a.Context {
		identity = append(identity, g.contextValueV2(req, c))
	}
	for _, v := range identity {
		if v == "" {
			return v2Error(w, req, http.StatusUnauthorized, "Unauthorized"), true
		}
	}
	key := req.route.Authorizer + "\x00" + strings.Join(identity, "\x00")
	var entry *v2CacheEntry
	if a.TTL > 0 {
		g.mu.Lock()
		if e, ok := g.v2cache[key]; ok && g.cfg.Now().Before(e.expires) {
			entry = &e
		}
		g.mu.Unlock()
	}
	if entry == nil {
		e, status := g.invokeAuthorizerV2(req, a, identity)
		if status != 0 {
			msg := map[int]string{401: "Unauthorized", 500: "Internal Server Error"}[status]
			return v2Error(w, req, status, msg), true
		}
		entry = e
		if a.TTL > 0 {
			e.expires = g.cfg.Now().Add(a.TTL)
			g.mu.Lock()
			g.v2cache[key] = *e
			g.mu.Unlock()
		}
	}
	if !entry.authorized {
		return v2Error(w, req, http.StatusForbidden, "Forbidden"), true
	}
	req.authCtx = entry.context
	if req.authCtx == nil {
		req.authCtx = map[string]any{}
	}
	return 0, false
}

// invokeAuthorizerV2 calls the authorizer with the payload format 2.0
// event; a non-zero status is the refusal or failure to send.
func (g *Gateway) invokeAuthorizerV2(req *request, a Authorizer, identity []string) (*v2CacheEntry, int) {
	ev := g.v2Event(req)
	payload, err := json.Marshal(events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST", IdentitySource: identity,
		RouteArn:              fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s%s", g.cfg.Region, g.cfg.Account, g.cfg.APIID, g.cfg.Stage, req.route.Method, req.resource),
		RouteKey:              ev.RouteKey,
		RawPath:               ev.RawPath,
		RawQueryString:        ev.RawQueryString,
		Cookies:               ev.Cookies,
		Headers:               ev.Headers,
		QueryStringParameters: ev.QueryStringParameters,
		RequestContext:        ev.RequestContext,
		PathParameters:        ev.PathParameters,
	})
	if err != nil {
		return nil, http.StatusInternalServerError
	}
	ctx, cancel := context.WithTimeout(req.r.Context(), g.cfg.IntegrationTimeout)
	out, fnErr, err := g.cfg.Invoke(ctx, a.Function, payload)
	cancel()
	switch {
	case err != nil:
		g.log.Error("authorizer not invoked", "requestId", req.id, "function", a.Function, "error", err.Error())
		return nil, http.StatusInternalServerError
	case fnErr:
		var doc struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(out, &doc)
		if doc.ErrorMessage == "Unauthorized" {
			return nil, http.StatusUnauthorized
		}
		g.log.Error("authorizer failed", "requestId", req.id, "function", a.Function, "errorMessage", doc.ErrorMessage)
		return nil, http.StatusInternalServerError
	}
	var resp struct {
		IsAuthorized *bool          `json:"isAuthorized"`
		Context      map[string]any `json:"context"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.IsAuthorized == nil {
		g.log.Error("authorizer output rejected: want a simple response {isAuthorized, context}", "requestId", req.id, "function", a.Function)
		return nil, http.StatusInternalServerError
	}
	return &v2CacheEntry{authorized: *resp.IsAuthorized, context: resp.Context}, 0
}

// v2Event builds the payload format 2.0 event of the request.
func (g *Gateway) v2Event(req *request) events.APIGatewayV2HTTPRequest {
	r := req.r
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			for _, v := range vs {
				cookies = append(cookies, strings.Split(v, "; ")...)
			}
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	headers["x-forwarded-for"] = req.sourceIP
	headers["x-forwarded-proto"] = "http"
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = map[string]string{}
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	var params map[string]string
	if len(req.params) > 0 {
		params = req.params
	}
	now := time.Now()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: req.routeKey(), RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Cookies: cookies, Headers: headers, QueryStringParameters: query, PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: req.routeKey(), AccountID: g.cfg.Account, Stage: g.cfg.Stage, RequestID: req.id,
			APIID: g.cfg.APIID, DomainName: r.Host, DomainPrefix: strings.Split(r.Host, ".")[0],
			Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: req.sourceIP, UserAgent: r.UserAgent(),
			},
		},
	}
	if len(req.body) > 0 {
		ev.Body = string(req.body)
	}
	return ev
}

// integrateV2 invokes the route's function with the payload format the
// route names and writes its response.
func (g *Gateway) integrateV2(w http.ResponseWriter, req *request) int {
	var payload []byte
	var err error
	v1 := req.route.PayloadFormatVersion == "1.0"
	if v1 {
		ev := g.proxyEvent(req)
		if req.authCtx != nil {
			ev.RequestContext.Authorizer = map[string]any{"lambda": req.authCtx}
		}
		payload, err = json.Marshal(ev)
	} else {
		ev := g.v2Event(req)
		if req.authCtx != nil {
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: req.authCtx}
		}
		payload, err = json.Marshal(ev)
	}
	if err != nil {
		return v2Error(w, req, http.StatusInternalServerError, "Internal Server Error")
	}
	req.function = req.route.Function
	ctx, cancel := context.WithTimeout(req.r.Context(), g.cfg.IntegrationTimeout)
	defer cancel()
	out, fnErr, err := g.cfg.Invoke(ctx, req.route.Function, payload)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return v2Error(w, req, http.StatusServiceUnavailable, "Service Unavailable")
	case err != nil:
		g.log.Error("integration not invoked", "requestId", req.id, "function", req.route.Function, "error", err.Error())
		return v2Error(w, req, http.StatusInternalServerError, "Internal Server Error")
	case fnErr:
		g.log.Error("integration function failed", "requestId", req.id, "function", req.route.Function)
		return v2Error(w, req, http.StatusInternalServerError, "Internal Server Error")
	}
	resp, ok := parseV2Response(out, v1)
	if !ok {
		g.log.Error("malformed Lambda integration response", "requestId", req.id, "function", req.route.Function)
		return v2Error(w, req, http.StatusInternalServerError, "Internal Server Error")
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return v2Error(w, req, http.StatusInternalServerError, "Internal Server Error")
		}
	}
	return writeIntegration(w, req.r.Method, integrationAnswer{
		status: resp.StatusCode, multi: resp.MultiValueHeaders, single: resp.Headers, cookies: resp.Cookies, body: body,
		requestIDHeader: "Apigw-Requestid", requestID: req.id,
	})
}

// parseV2Response reads an integration's answer. With payload format 2.0,
// valid JSON without a statusCode is a 200 whose body is that JSON.
func parseV2Response(out []byte, v1 bool) (events.APIGatewayV2HTTPResponse, bool) {
	var probe map[string]json.RawMessage
	isObject := json.Unmarshal(out, &probe) == nil
	if !v1 && (!isObject || probe["statusCode"] == nil) {
		if !json.Valid(out) {
			return events.APIGatewayV2HTTPResponse{}, false
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: string(out)}, true
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
		return resp, false
	}
	return resp, true
}
