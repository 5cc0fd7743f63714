package apigw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keyward/keyward/pkg/apikey"
)

// Handler serves one route for an authenticated caller. An error it returns
// becomes the response through the one code → status table; a non-domain
// error becomes 500 internal and is logged.
type Handler func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error)

// Route binds a handler to one of keyward's own routes (apikey.AdminRoutes):
// an HTTP method and an API Gateway resource template, such as
// "/v1/keys/{keyId}".
type Route struct {
	Method   string
	Resource string
	Handler  Handler
}

// Router dispatches proxy events on HTTPMethod and Resource, authenticates
// the caller from the authorizer context, and writes one access-log line per
// request.
type Router struct {
	routes map[string]map[string]bound // resource → method → handler
	log    *slog.Logger
	now    func() time.Time
}

// bound is a route's handler, the scope its table entry requires, and
// whether the entry is public (no authorizer in front of it: the handler gets
// a zero Caller and must answer the same to everyone).
type bound struct {
	handler Handler
	scope   string
	public  bool
}

// NewRouter returns a router over routes, logging to log (slog.Default when
// nil). Each route's required scope comes from apikey.AdminRoutes. It panics
// on a duplicate or incomplete route or one the table lacks: that is a
// wiring bug.
func NewRouter(log *slog.Logger, routes ...Route) *Router {
	if log == nil {
		log = slog.Default()
	}
	r := &Router{routes: map[string]map[string]bound{}, log: log, now: time.Now}
	for _, rt := range routes {
		if rt.Method == "" || rt.Resource == "" || rt.Handler == nil {
			panic(fmt.Sprintf("apigw: incomplete route %q %q", rt.Method, rt.Resource))
		}
		m := strings.ToUpper(rt.Method)
		entry, ok := apikey.AdminRoute(m, rt.Resource)
		if !ok {
			panic(fmt.Sprintf("apigw: %s %s is not in apikey's route table", m, rt.Resource))
		}
		if r.routes[rt.Resource] == nil {
			r.routes[rt.Resource] = map[string]bound{}
		}
		if _, dup := r.routes[rt.Resource][m]; dup {
			panic(fmt.Sprintf("apigw: duplicate route %s %s", m, rt.Resource))
		}
		r.routes[rt.Resource][m] = bound{handler: rt.Handler, scope: entry.Scope, public: entry.Public}
	}
	return r
}

// Handle serves one proxy event. It never returns an error: every failure is
// an HTTP response (a Lambda error would reach the client as a bare 502).
func (r *Router) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	start := r.now()
	resp, err := r.dispatch(ctx, req)
	var internal bool
	code := ""
	if err != nil {
		var status int
		var body apikey.ErrorBody
		status, body, internal = classify(err)
		resp = errorResponse(status, body)
		code = body.Code
		var te *TransportError
		if errors.As(err, &te) && te.allow != "" {
			resp.Headers["Allow"] = te.allow
		}
	}
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	if _, ok := resp.Headers["Cache-Control"]; !ok {
		resp.Headers["Cache-Control"] = "no-store"
	}
	r.accessLog(ctx, req, resp.StatusCode, code, r.now().Sub(start), err, internal)
	return resp, nil
}

// dispatch finds the route, authenticates the caller, checks the route's
// scope (before anything reads the body, so a key without it learns nothing
// from validation) and runs the handler, turning a panic into an internal
// error.
func (r *Router) dispatch(ctx context.Context, req events.APIGatewayProxyRequest) (resp events.APIGatewayProxyResponse, err error) {
	methods, ok := r.routes[req.Resource]
	if !ok {
		return resp, &TransportError{Status: http.StatusNotFound, Code: CodeRouteNotFound, Message: "no such route"}
	}
	b, ok := methods[strings.ToUpper(req.HTTPMethod)]
	if !ok {
		return resp, &TransportError{
			Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
			Message: fmt.Sprintf("%s is not allowed on this resource", req.HTTPMethod),
			allow:   strings.Join(slices.Sorted(maps.Keys(methods)), ", "),
		}
	}
	var c apikey.Caller
	if !b.public {
		if c, err = CallerFrom(req); err != nil {
			return resp, err
		}
	}
	if b.scope != "" {
		if err := apikey.RequireScope(c, b.scope); err != nil {
			return resp, err
		}
	}
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return b.handler(ctx, req, c)
}

// panicError carries a handler panic to the access log as an internal error.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// accessLog writes the request's one log line: at INFO normally, at ERROR with
// the error text when the error was internal (its only record). It never logs
// headers or bodies.
func (r *Router) accessLog(ctx context.Context, req events.APIGatewayProxyRequest, status int, code string, d time.Duration, err error, internal bool) {
	auth := req.RequestContext.Authorizer
	attrs := []slog.Attr{
		slog.String("requestId", req.RequestContext.RequestID),
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		attrs = append(attrs, slog.String("lambdaRequestId", lc.AwsRequestID))
	}
	if t, _ := auth["tenantId"].(string); apikey.ValidTenantID(t) {
		attrs = append(attrs, slog.String("tenantId", t))
	}
	if k, _ := auth["keyId"].(string); apikey.ValidKeyID(k) {
		attrs = append(attrs, slog.String("keyId", k))
	}
	if t := Header(req, HeaderTenant); apikey.ValidTenantID(t) { // a platform key acting in t
		attrs = append(attrs, slog.String("actingTenantId", t))
	}
	attrs = append(attrs,
		slog.String("method", req.HTTPMethod),
		slog.String("resource", req.Resource),
		slog.Int("status", status),
		slog.Float64("durationMs", float64(d.Microseconds())/1000),
	)
	if code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	level, msg := slog.LevelInfo, "request"
	if internal {
		level, msg = slog.LevelError, "request failed"
		attrs = append(attrs, slog.String("error", err.Error()))
		if p, ok := err.(*panicError); ok {
			attrs = append(attrs, slog.String("stack", string(p.stack)))
		}
	}
	r.log.LogAttrs(ctx, level, msg, attrs...)
}
