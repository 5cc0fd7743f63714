// Package authorizer is keyward's API Gateway REQUEST authorizer: it reads
// the Authorization header (Basic or Bearer), checks the key with
// apikey.Verify — the same code /v1/verify uses — behind a short in-memory
// cache, applies the key's allow-list and decides for exactly the route
// asked: the event's method and resource path (the resource template, such
// as /recordings/{id}), matched by whole segments against keyward's own
// routes and the RouteScopes parameter. API Gateway caches the answer per
// Authorization header, source IP, method and resource path (the template's
// identity sources), so an answer is never replayed for another route.
//
// Outcomes: bad or missing credentials, an unknown, revoked or expired key
// and a wrong secret are Unauthorized (401); a request from outside the
// key's allow-list, for a route whose scope the key lacks or for a route no
// entry matches gets a Deny policy (403); a store or KMS failure, or an
// event without a method ARN, method or resource path, is an error that is
// not Unauthorized (500), never an Allow.
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/lastused"
)

// ErrUnauthenticated is the error API Gateway turns into 401 (its text must
// be exactly "Unauthorized"): no key, or not a valid one.
var ErrUnauthenticated = errors.New("Unauthorized")

// ErrFailure is returned when the decision could not be made (store, KMS or
// a malformed event). API Gateway answers 500; nothing is allowed.
var ErrFailure = errors.New("authorizer failure")

// DefaultKeyCacheTTL is how long a key, or its absence, is kept in memory
// when the environment does not say (the KeyCacheTtl parameter's default).
const DefaultKeyCacheTTL = 2 * time.Second

// Store is what the authorizer needs from the keys table; *dynamostore.Store
// satisfies it.
type Store interface {
	apikey.KeyGetter
	lastused.Toucher
	Registry
}

// Config holds the authorizer's settings.
type Config struct {
	// TokenPrefix starts every token ("kw" when empty).
	TokenPrefix string
	// KeyCacheTTL is how long a key or its absence is cached in memory; 0
	// disables the cache.
	KeyCacheTTL time.Duration
	// GatewayCaches says API Gateway caches this authorizer's results
	// (AuthorizerCacheTtl > 0). Then only absent keys are cached in memory:
	// every invocation is a gateway cache miss, and a key served from memory
	// after a revocation flushed the gateway would be cached there again.
	GatewayCaches bool
	// RouteScopes are the protected APIs' routes (the RouteScopes parameter);
	// keyward's own routes (apikey.AdminRoutes) are always included.
	RouteScopes []apikey.RouteScope
	// UsageInterval is how often lastUsedAt is written per key at most
	// (lastused.DefaultInterval when 0).
	UsageInterval time.Duration
}

// Authorizer decides API Gateway REQUEST authorizer events. It is safe for
// concurrent use.
type Authorizer struct {
	prefix string
	keys   *keyCache
	hasher apikey.Hasher
	routes *routeTable
	usage  *lastused.Recorder
	track  *tracker
	now    func() time.Time
	log    *slog.Logger
}

// Option customises an Authorizer.
type Option func(*Authorizer)

// WithClock injects the clock used for expiry, grace periods, the cache and
// lastUsedAt.
func WithClock(now func() time.Time) Option { return func(a *Authorizer) { a.now = now } }

// WithLogger sets the logger (slog.Default otherwise).
func WithLogger(l *slog.Logger) Option { return func(a *Authorizer) { a.log = l } }

// New returns an Authorizer reading keys from store and checking secrets
// with hasher.
func New(store Store, hasher apikey.Hasher, cfg Config, opts ...Option) *Authorizer {
	a := &Authorizer{prefix: cfg.TokenPrefix, hasher: hasher, now: time.Now, log: slog.Default()}
	if a.prefix == "" {
		a.prefix = "kw"
	}
	for _, o := range opts {
		o(a)
	}
	a.keys = newKeyCache(store, cfg.KeyCacheTTL, !cfg.GatewayCaches, a.now)
	a.routes = newRouteTable(append(apikey.AdminRoutes(), cfg.RouteScopes...))
	a.usage = lastused.New(store, cfg.UsageInterval, a.log)
	a.track = newTracker(store, a.log)
	return a
}

// outcome is what the authorizer answers.
type outcome int

const (
	outcomeAllow outcome = iota
	outcomeDeny
	outcomeUnauthorized
	outcomeFailure
)

var outcomeNames = [...]string{"allow", "deny", "unauthorized", "error"}

// decision is the result of one request, with what its log line says.
type decision struct {
	outcome outcome
	reason  string
	keyID   string
	key     *apikey.StoredKey
	ent     *entry         // the cache entry of an allowed key
	route   *routeDecision // the route asked for
	prefix  string
	err     error
	usage   lastused.Pending // the Allow's lastUsedAt write in flight
}

// Handle answers one REQUEST authorizer event. It returns ErrUnauthenticated,
// ErrFailure, or a policy: an Allow naming only the route asked for, or a
// Deny. It writes one log line per call, with the outcome for that route,
// and never logs credentials. It returns once the key's lastUsedAt write,
// if any, has ended (HandleLambda answers before it).
func (a *Authorizer) Handle(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	resp, usage, err := a.handle(ctx, req)
	usage.Wait()
	return resp, err
}

// handle is Handle, returning before the lastUsedAt write ends.
func (a *Authorizer) handle(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, lastused.Pending, error) {
	start := time.Now()
	var recorded <-chan struct{}
	if s, ok := stageOf(req.MethodArn); ok {
		recorded = a.track.stage(ctx, s, a.now()) // beside the key's read
	}
	d := a.decide(ctx, req)
	if d.outcome == outcomeAllow {
		// An Allow the gateway caches must reach the flusher's notice: its
		// stage, and the key's deadline when it falls within a cache TTL.
		wait(recorded)
		a.track.deadline(ctx, d.key, a.now())
	}
	a.logDecision(ctx, req, d, time.Since(start))
	switch d.outcome {
	case outcomeAllow:
		return events.APIGatewayCustomAuthorizerResponse{
			PrincipalID:    d.key.ID,
			PolicyDocument: allowPolicy(d.route.allow),
			Context:        d.ent.context,
		}, d.usage, nil
	case outcomeDeny:
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: d.keyID, PolicyDocument: denyPolicy(d.prefix), Context: denyContext(d.reason)}, d.usage, nil
	case outcomeUnauthorized:
		return events.APIGatewayCustomAuthorizerResponse{}, d.usage, ErrUnauthenticated
	}
	return events.APIGatewayCustomAuthorizerResponse{}, d.usage, ErrFailure
}

func (a *Authorizer) decide(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) decision {
	prefix, ok := stagePrefix(req.MethodArn)
	if !ok {
		return decision{outcome: outcomeFailure, reason: "bad_method_arn", err: errors.New("methodArn is not an execute-api method ARN")}
	}
	// The route is the event's method and resource path only, never its
	// concrete path: API Gateway caches the answer per method and resource
	// path, so nothing else may change it.
	var route *routeDecision
	if wellFormedRoute(req.HTTPMethod, req.Resource) {
		route, ok = a.routes.resolve(prefix, req.HTTPMethod, req.Resource)
	}
	if route == nil || !ok {
		return decision{outcome: outcomeFailure, reason: "bad_route", err: errors.New("the event has no well-formed httpMethod and resource path template")}
	}
	h := readHeaders(req)
	authz, n := h.authorization, h.n
	switch {
	case n > 1: // more than one Authorization value, in any spelling of the name
		return decision{outcome: outcomeUnauthorized, reason: "malformed"}
	case n == 0 || strings.TrimSpace(authz) == "":
		return decision{outcome: outcomeUnauthorized, reason: "no_credentials"}
	}
	keyID, secret, err := apikey.ParseAuthorization(a.prefix, authz)
	if err != nil {
		return decision{outcome: outcomeUnauthorized, reason: "malformed"}
	}

	now := a.now()
	ent, code, err := a.verify(ctx, keyID, secret, now)
	if err != nil {
		return decision{outcome: outcomeFailure, reason: "store_or_kms", keyID: keyID, err: err}
	}
	k := ent.key
	switch code {
	case apikey.CodeValid:
	case apikey.CodeRevoked, apikey.CodeExpired: // the log names the key's tenant
		return decision{outcome: outcomeUnauthorized, reason: string(code), keyID: keyID, key: k}
	default:
		return decision{outcome: outcomeUnauthorized, reason: string(code), keyID: keyID}
	}
	if reason := ent.allow.Check(req.RequestContext.Identity.SourceIP, h.origin, h.referer); reason != "" {
		return decision{outcome: outcomeDeny, reason: reason, keyID: keyID, key: k, route: route, prefix: prefix}
	}
	switch {
	case len(route.routes) == 0: // default deny: no route entry matches
		return decision{outcome: outcomeDeny, reason: reasonRouteNotConfigured, keyID: keyID, key: k, route: route, prefix: prefix}
	case !route.allows(k.Scopes):
		return decision{outcome: outcomeDeny, reason: reasonRouteNotInScopes, keyID: keyID, key: k, route: route, prefix: prefix}
	}
	// The usage write runs beside what is left of the answer; the caller
	// waits for it (Handle before returning, HandleLambda after answering).
	usage := a.usage.Start(ctx, k.ID, now)
	return decision{outcome: outcomeAllow, keyID: keyID, key: k, ent: ent, route: route, prefix: prefix, usage: usage}
}

// verify reads the key through the cache and decides its verdict. A wrong
// secret for a cached key reads the key again (at most once per
// minRefreshAge): the secret may have been rotated since it was cached.
func (a *Authorizer) verify(ctx context.Context, keyID, secret string, now time.Time) (*entry, apikey.VerifyCode, error) {
	e, hit, err := a.keys.get(ctx, keyID)
	if err != nil {
		return nil, "", err
	}
	code, err := apikey.Verify(ctx, a.hasher, e.key, secret, now)
	if err != nil || code != apikey.CodeInvalidSecret || !hit {
		return e, code, err
	}
	e, read, err := a.keys.refresh(ctx, keyID, e)
	if err != nil || !read {
		return e, code, err
	}
	code, err = apikey.Verify(ctx, a.hasher, e.key, secret, now)
	return e, code, err
}

// requestHeaders are the headers the authorizer reads.
type requestHeaders struct {
	authorization string
	n             int // how many Authorization values were sent
	origin        string
	referer       string
}

// readHeaders finds the headers, matching names case-insensitively in both
// multiValueHeaders and headers, and counts every Authorization value of
// every spelling of the name: `Authorization: A` with `authorization: B` is
// two values (refused), whatever the maps' iteration order. An Origin or
// Referer sent with two different values is ambiguous and never matches an
// allow-list.
func readHeaders(req events.APIGatewayCustomAuthorizerRequestTypeRequest) requestHeaders {
	var h requestHeaders
	auth := apigw.HeaderValues(req.MultiValueHeaders, req.Headers, "Authorization")
	if h.n = len(auth); h.n > 0 {
		h.authorization = auth[0]
	}
	h.origin = singleValue(apigw.HeaderValues(req.MultiValueHeaders, req.Headers, "Origin"))
	h.referer = singleValue(apigw.HeaderValues(req.MultiValueHeaders, req.Headers, "Referer"))
	return h
}

// ambiguousHeader stands for a header sent with several different values; it
// is not an https origin, so an origin allow-list refuses it.
const ambiguousHeader = "\x00ambiguous"

// singleValue is the header's value: "" when absent, ambiguousHeader when
// it was sent with different values.
func singleValue(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return ambiguousHeader
		}
	}
	return vals[0]
}

// logDecision writes the request's one log line: key ID and tenant (never
// the header, token or secret), outcome and reason; at ERROR, with the error
// text, when the decision failed.
func (a *Authorizer) logDecision(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest, d decision, took time.Duration) {
	level := slog.LevelInfo
	if d.outcome == outcomeFailure {
		level = slog.LevelError
	}
	if !a.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 11)
	attrs = append(attrs,
		slog.String("requestId", req.RequestContext.RequestID),
		slog.String("decision", outcomeNames[d.outcome]),
	)
	if d.reason != "" {
		attrs = append(attrs, slog.String("reason", d.reason))
	}
	if d.keyID != "" {
		attrs = append(attrs, slog.String("keyId", d.keyID))
	}
	if d.key != nil {
		attrs = append(attrs, slog.String("tenantId", d.key.TenantID))
	}
	attrs = append(attrs,
		slog.String("method", req.HTTPMethod),
		slog.String("resource", req.Resource),
	)
	if d.route != nil && len(d.route.routes) > 0 {
		attrs = append(attrs, slog.String("route", d.route.label()))
	}
	attrs = append(attrs,
		slog.String("sourceIp", req.RequestContext.Identity.SourceIP),
		slog.Float64("durationMs", float64(took.Microseconds())/1000),
	)
	msg := "authorize"
	if d.err != nil {
		msg = "authorize failed"
		attrs = append(attrs, slog.String("error", d.err.Error()))
	}
	a.log.LogAttrs(ctx, level, msg, attrs...)
}
