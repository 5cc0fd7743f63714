package authorizer

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/lastused"
)

// HTTP APIs (API Gateway v2) call the same function with payload format
// 2.0 and take a simple response: isAuthorized and a context. There a
// cached answer applies to every route of the API, so the event's route key
// and source IP must be among its identity sources (the authorizer's
// IdentitySource: $request.header.Authorization, $context.routeKey,
// $context.identity.sourceIp): an event whose identity values hold neither
// the route key nor the source IP is refused as a failure (500), never
// answered, because its answer would be replayed on other routes or
// addresses. HTTP API stages are recorded like REST ones, and flushed with
// API Gateway v2's ResetAuthorizersCache.

// HandleEvent answers either kind of event the function receives: a REST
// API's REQUEST authorizer event (Handle) or an HTTP API's payload format
// 2.0 event (HandleV2), told apart by its "version". Like them, it returns
// once the key's lastUsedAt write, if any, has ended.
func (a *Authorizer) HandleEvent(ctx context.Context, raw json.RawMessage) (any, error) {
	resp, usage, err := a.event(ctx, raw)
	usage.Wait()
	return resp, err
}

// event is HandleEvent, returning before the lastUsedAt write ends.
func (a *Authorizer) event(ctx context.Context, raw json.RawMessage) (any, lastused.Pending, error) {
	var probe struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, lastused.Pending{}, ErrFailure
	}
	if probe.Version == "2.0" {
		var ev events.APIGatewayV2CustomAuthorizerV2Request
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, lastused.Pending{}, ErrFailure
		}
		return a.handleV2(ctx, ev)
	}
	var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, lastused.Pending{}, ErrFailure
	}
	return a.handle(ctx, ev)
}

// errIdentitySources is the failure of a v2 event whose cache key could not
// tell routes or addresses apart.
var errIdentitySources = errors.New("the HTTP API authorizer's identity sources must include $context.routeKey and $context.identity.sourceIp")

// HandleV2 answers an HTTP API (payload format 2.0) authorizer event with a
// simple response: allowed with the key's context, or refused (403);
// ErrUnauthenticated (401) or ErrFailure (500) as Handle, and returns once
// the lastUsedAt write, if any, has ended.
func (a *Authorizer) HandleV2(ctx context.Context, ev events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	resp, usage, err := a.handleV2(ctx, ev)
	usage.Wait()
	return resp, err
}

// handleV2 is HandleV2, returning before the lastUsedAt write ends.
func (a *Authorizer) handleV2(ctx context.Context, ev events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, lastused.Pending, error) {
	start := time.Now()
	req := v1Request(ev)
	var recorded <-chan struct{}
	if ev.RequestContext.APIID != "" && ev.RequestContext.Stage != "" {
		s := apikey.Stage{APIID: ev.RequestContext.APIID, Name: ev.RequestContext.Stage, HTTP: true}
		recorded = a.track.stage(ctx, s, a.now()) // beside the key's read
	}
	var d decision
	if !slices.Contains(ev.IdentitySource, ev.RouteKey) || !slices.Contains(ev.IdentitySource, ev.RequestContext.HTTP.SourceIP) {
		d = decision{outcome: outcomeFailure, reason: "identity_sources", err: errIdentitySources}
	} else {
		d = a.decide(ctx, req)
	}
	if d.outcome == outcomeAllow {
		wait(recorded)
		a.track.deadline(ctx, d.key, a.now())
	}
	a.logDecision(ctx, req, d, time.Since(start))
	switch d.outcome {
	case outcomeAllow:
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: d.ent.context}, d.usage, nil
	case outcomeDeny:
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false, Context: denyContext(d.reason)}, d.usage, nil
	case outcomeUnauthorized:
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, d.usage, ErrUnauthenticated
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, d.usage, ErrFailure
}

// v1Request restates a v2 event as the REST event decide reads: the route
// key's method and path template are the method and resource path ("ANY"
// stays ANY, so only an ANY entry of RouteScopes can allow it; the route
// key $default has no path and is refused as a bad route), the route ARN
// is the method ARN. Header names arrive in lower case, several values of
// one header joined by commas; a joined Authorization fails to parse.
func v1Request(ev events.APIGatewayV2CustomAuthorizerV2Request) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	method, path, _ := strings.Cut(ev.RouteKey, " ")
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:       "REQUEST",
		MethodArn:  ev.RouteArn,
		Resource:   path,
		Path:       ev.RawPath,
		HTTPMethod: method,
		Headers:    ev.Headers,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			APIID: ev.RequestContext.APIID, Stage: ev.RequestContext.Stage, RequestID: ev.RequestContext.RequestID,
			Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: ev.RequestContext.HTTP.SourceIP},
		},
	}
}
