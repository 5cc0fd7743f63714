package authorizer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
)

// invokeAction is the IAM action API Gateway checks an authorizer's policy for.
const invokeAction = "execute-api:Invoke"

// maxCachedPolicies bounds the memo of rendered Allow resources (one per
// stage and scope set, so normally a handful).
const maxCachedPolicies = 4096

// routeMethods are the methods a RouteScopes entry may name; ANY and * are
// every method.
var routeMethods = map[string]string{
	"GET": "GET", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE",
	"HEAD": "HEAD", "OPTIONS": "OPTIONS", "ANY": "*", "*": "*",
}

// pathParamRE matches an API Gateway path parameter, {id} or {proxy+}.
var pathParamRE = regexp.MustCompile(`\{[^{}/]*\}`)

// ParseRouteScopes reads the RouteScopes template parameter: a JSON object
// mapping "METHOD /path" to the scope the route needs, e.g.
// {"GET /recordings/*": "recordings:read"}. Path parameters ({id}) and * match
// any value. The method may be ANY or *. An empty string is no routes.
func ParseRouteScopes(s string) ([]apikey.RouteScope, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf(`must be a JSON object such as {"GET /recordings/*": "recordings:read"}: %v`, err)
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
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#") {
			return nil, fmt.Errorf("route %q: the path must start with / and hold no spaces, ? or #", route)
		}
		if !apikey.ValidScope(scope) {
			return nil, fmt.Errorf("route %q: %q is not a valid scope", route, scope)
		}
		out = append(out, apikey.RouteScope{Method: method, Path: path, Scope: scope})
	}
	slices.SortFunc(out, func(a, b apikey.RouteScope) int {
		return strings.Compare(a.Method+" "+a.Path, b.Method+" "+b.Path)
	})
	return out, nil
}

// route is a RouteScope with the method-ARN suffix that names it.
type route struct {
	suffix string // METHOD/path, parameters as *
	rs     apikey.RouteScope
}

func compileRoutes(rs []apikey.RouteScope) []route {
	out := make([]route, 0, len(rs))
	for _, r := range rs {
		method := routeMethods[strings.ToUpper(r.Method)]
		if method == "" {
			method = strings.ToUpper(r.Method)
		}
		out = append(out, route{suffix: method + pathParamRE.ReplaceAllString(r.Path, "*"), rs: r})
	}
	return out
}

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
	return methodARN[:len(methodARN)-len(rest)] + stage + "/", true
}

// policies renders and memoises the Allow resources of a scope set on a stage.
type policies struct {
	routes []route

	mu sync.RWMutex
	m  map[string][]string
}

func newPolicies(rs []apikey.RouteScope) *policies {
	return &policies{routes: compileRoutes(rs), m: map[string][]string{}}
}

// resources returns every method ARN of the stage that scopes allow. The
// slice is shared: callers must not modify it.
func (p *policies) resources(prefix string, scopes []string) []string {
	memo := prefix + "\x00" + strings.Join(scopes, " ")
	p.mu.RLock()
	res, ok := p.m[memo]
	p.mu.RUnlock()
	if ok {
		return res
	}
	for _, r := range p.routes {
		if r.rs.Allows(scopes) {
			if arn := prefix + r.suffix; !slices.Contains(res, arn) {
				res = append(res, arn)
			}
		}
	}
	p.mu.Lock()
	if len(p.m) >= maxCachedPolicies {
		clear(p.m)
	}
	p.m[memo] = res
	p.mu.Unlock()
	return res
}

func allowPolicy(resources []string) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{
		Version:   "2012-10-17",
		Statement: []events.IAMPolicyStatement{{Action: []string{invokeAction}, Effect: "Allow", Resource: resources}},
	}
}

// denyPolicy refuses every route of the stage: the answer API Gateway caches
// for this identity is the same whatever route is called next.
func denyPolicy(prefix string) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{
		Version:   "2012-10-17",
		Statement: []events.IAMPolicyStatement{{Action: []string{invokeAction}, Effect: "Deny", Resource: []string{prefix + "*"}}},
	}
}
