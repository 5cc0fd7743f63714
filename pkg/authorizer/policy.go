package authorizer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
)

// invokeAction is the IAM action API Gateway checks an authorizer's policy for.
const invokeAction = "execute-api:Invoke"

// routeMethods are the methods a RouteScopes entry may name; ANY and * are
// every method.
var routeMethods = map[string]string{
	"GET": "GET", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE",
	"HEAD": "HEAD", "OPTIONS": "OPTIONS", "ANY": "*", "*": "*",
}

// ParseRouteScopes reads the RouteScopes template parameter: a JSON object
// mapping "METHOD /path" to the scope the route needs, e.g.
// {"GET /recordings/{id}": "recordings:read"}. Paths match API Gateway
// resource paths by whole segments: a literal matches the same literal, {id}
// exactly one segment, and a * (only as the whole last segment, or {p+})
// one or more segments. The method may be ANY or *. An empty string is no
// routes. A malformed path, and two routes with the same method and shape,
// or one shaped like keyward's own route, are errors naming the route.
func ParseRouteScopes(s string) ([]apikey.RouteScope, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf(`must be a JSON object such as {"GET /recordings/{id}": "recordings:read"}: %v`, err)
	}
	out := make([]apikey.RouteScope, 0, len(m))
	for route, scope := range m {
		method, path, ok := strings.Cut(strings.TrimSpace(route), " ")
		path = strings.TrimSpace(path)
		if !ok {
			return nil, fmt.Errorf("route %q must be \"METHOD /path\"", route)
		}
		method = strings.ToUpper(method)
		if _, known := routeMethods[method]; !known {
			return nil, fmt.Errorf("route %q: unknown method %q", route, method)
		}
		if _, err := parsePattern(path); err != nil {
			return nil, fmt.Errorf("route %q: %v", route, err)
		}
		if !apikey.ValidScope(scope) {
			return nil, fmt.Errorf("route %q: %q is not a valid scope", route, scope)
		}
		out = append(out, apikey.RouteScope{Method: method, Path: path, Scope: scope})
	}
	slices.SortFunc(out, func(a, b apikey.RouteScope) int {
		return strings.Compare(a.Method+" "+a.Path, b.Method+" "+b.Path)
	})
	// Two routes that match exactly the same requests would leave the scope
	// to chance; one shaped like keyward's own route would change what that
	// route needs.
	own := newRouteTable(apikey.AdminRoutes()).patterns
	mine := newRouteTable(out).patterns
	for i := range mine {
		for j := range i {
			if sameShape(&mine[i], &mine[j]) {
				return nil, fmt.Errorf("routes %q and %q match the same requests", label(mine[j].rs), label(mine[i].rs))
			}
		}
		for j := range own {
			if sameShape(&mine[i], &own[j]) {
				return nil, fmt.Errorf("route %q: keyward's own route %q already needs %q", label(mine[i].rs), label(own[j].rs), own[j].rs.Scope)
			}
		}
	}
	return out, nil
}

func label(r apikey.RouteScope) string { return r.Method + " " + r.Path }

// stagePrefix returns the part of a method ARN that names the API and stage,
// "arn:aws:execute-api:region:account:apiId/stage/", so the policy can name
// every route of the stage the request came through.
func stagePrefix(methodARN string) (string, bool) {
	parts := strings.SplitN(methodARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "execute-api" {
		return "", false
	}
	apiID, rest, ok := strings.Cut(parts[5], "/")
	if !ok || apiID == "" {
		return "", false
	}
	stage, _, ok := strings.Cut(rest, "/")
	if !ok || stage == "" {
		return "", false
	}
	// An IAM wildcard in the account, API or stage would widen the policy
	// beyond the stage asked for; API Gateway never sends one.
	if strings.ContainsAny(parts[4]+apiID+stage, "*?") {
		return "", false
	}
	return methodARN[:len(methodARN)-len(rest)] + stage + "/", true
}

// wellFormedRoute reports whether an event's method and resource path are
// what API Gateway sends: a method that is a word and a path without IAM
// wildcards, so the Allow built from them names that route and no other.
func wellFormedRoute(method, resource string) bool {
	if method == "" || strings.ContainsAny(resource, "*?") {
		return false
	}
	for _, r := range method {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

// allowPolicy allows the one route asked for: the stage prefix, the method
// and the resource path with each {param} as *. IAM's * spans /, so this
// pattern also covers deeper routes (GET/recordings/* covers
// GET/recordings/r1/audio); that is safe only because API Gateway caches the
// answer per method and resource path (the authorizer's identity sources
// include $context.httpMethod and $context.resourcePath) and never replays
// it for another route.
func allowPolicy(resources []string) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{
		Version:   "2012-10-17",
		Statement: []events.IAMPolicyStatement{{Action: []string{invokeAction}, Effect: "Allow", Resource: resources}},
	}
}

// denyPolicy refuses every route of the stage. API Gateway replays it only
// for the same key, source IP, method and resource path, so naming the whole
// stage refuses nothing else, and it can never allow anything.
func denyPolicy(prefix string) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{
		Version:   "2012-10-17",
		Statement: []events.IAMPolicyStatement{{Action: []string{invokeAction}, Effect: "Deny", Resource: []string{prefix + "*"}}},
	}
}

// stageOf returns the REST API stage a method ARN names
// (arn:aws:execute-api:region:account:apiId/stage/METHOD/path).
func stageOf(methodARN string) (apikey.Stage, bool) {
	prefix, ok := stagePrefix(methodARN)
	if !ok {
		return apikey.Stage{}, false
	}
	parts := strings.SplitN(prefix, ":", 6)
	apiID, rest, _ := strings.Cut(parts[5], "/")
	return apikey.Stage{APIID: apiID, Name: strings.TrimSuffix(rest, "/")}, true
}

// denyMessages explain each refusal a Deny policy carries, starting with
// the reason as logged; the gateway's ACCESS_DENIED response shows them
// ($context.authorizer.denyMessage), so a 403 says which rule refused.
var denyMessages = map[string]string{
	reasonRouteNotInScopes:        "route_not_in_scopes: this key's scopes do not include this route",
	reasonRouteNotConfigured:      "route_not_configured: no RouteScopes entry names this route",
	apikey.ReasonIPNotAllowed:     "ip_not_allowed: this key may not be used from this source IP",
	apikey.ReasonOriginNotAllowed: "origin_not_allowed: this key may not be used from this origin",
	apikey.ReasonOriginMissing:    "origin_missing: this key is limited to some origins and the request names none",
}

// denyContext is the context of a Deny: the rule that refused.
func denyContext(reason string) map[string]any {
	msg, ok := denyMessages[reason]
	if !ok {
		msg = "this key may not call this route"
	}
	return map[string]any{"denyReason": reason, "denyMessage": msg}
}
