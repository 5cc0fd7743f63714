package authorizer

import (
	"fmt"
	"strings"
	"sync"

	"github.com/keyward/keyward/pkg/apikey"
)

// Route matching works on whole path segments, never on characters:
//
//   - a literal segment of a pattern matches only the same literal segment
//     of the resource path;
//   - {p} matches exactly one segment: a literal one or a {x} parameter of
//     the resource, never a greedy {proxy+};
//   - a trailing * (or {p+}) matches one or more remaining segments,
//     a greedy {proxy+} among them.
//
// The resource path is the API Gateway resource template of the request
// ("/recordings/{id}", the event's resource and $context.resourcePath),
// never the concrete path: the authorizer's answer is cached per method and
// resource path, so it may depend on nothing else of the route.
//
// When several routes match, the most specific wins: segment by segment, a
// literal beats {p}, which beats *; then an exact method beats ANY. Routes
// that tie (same method and same shape) must all allow the key.

// segKind orders a pattern's segments by specificity.
type segKind uint8

const (
	segRest    segKind = iota // trailing * or {p+}: one or more segments
	segParam                  // {p}: exactly one segment
	segLiteral                // the same literal segment
)

type patternSeg struct {
	kind    segKind
	literal string
}

// pattern is a RouteScope's method and path, compiled.
type pattern struct {
	method string // upper case; "*" for ANY
	segs   []patternSeg
	rs     apikey.RouteScope
}

// parsePattern compiles a RouteScope path. Segments are separated by /; an
// empty segment, a * that is not the whole last segment, a greedy {p+} that
// is not last, and braces that are not a whole {name} segment are refused.
func parsePattern(path string) ([]patternSeg, error) {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#") {
		return nil, fmt.Errorf("the path must start with / and hold no spaces, ? or #")
	}
	if path == "/" {
		return nil, nil
	}
	parts := strings.Split(path[1:], "/")
	segs := make([]patternSeg, 0, len(parts))
	for i, p := range parts {
		last := i == len(parts)-1
		switch {
		case p == "":
			return nil, fmt.Errorf("empty path segment (// or a trailing /)")
		case p == "*":
			if !last {
				return nil, fmt.Errorf("* may only be the whole last segment (it matches one or more segments)")
			}
			segs = append(segs, patternSeg{kind: segRest})
		case strings.Contains(p, "*"):
			return nil, fmt.Errorf("segment %q: * may only be a whole segment, and only the last", p)
		case isParam(p):
			if strings.HasSuffix(p, "+}") {
				if !last {
					return nil, fmt.Errorf("segment %q: a greedy parameter may only be the last segment", p)
				}
				segs = append(segs, patternSeg{kind: segRest})
				continue
			}
			segs = append(segs, patternSeg{kind: segParam})
		case strings.ContainsAny(p, "{}"):
			return nil, fmt.Errorf("segment %q: a parameter must be a whole segment such as {id}", p)
		default:
			segs = append(segs, patternSeg{kind: segLiteral, literal: p})
		}
	}
	return segs, nil
}

// isParam reports whether a segment is {name} or {name+}.
func isParam(s string) bool {
	if len(s) < 3 || s[0] != '{' || s[len(s)-1] != '}' {
		return false
	}
	name := strings.TrimSuffix(s[1:len(s)-1], "+")
	return name != "" && !strings.ContainsAny(name, "{}+")
}

// resourceSeg is one segment of a request's resource path.
type resourceSeg struct {
	literal string // "" for a parameter
	param   bool
	greedy  bool
}

// splitResource splits a resource path template ("/recordings/{id}").
func splitResource(resource string) ([]resourceSeg, bool) {
	if !strings.HasPrefix(resource, "/") {
		return nil, false
	}
	if resource == "/" {
		return nil, true
	}
	parts := strings.Split(resource[1:], "/")
	segs := make([]resourceSeg, 0, len(parts))
	for i, p := range parts {
		switch {
		case p == "":
			return nil, false
		case isParam(p):
			greedy := strings.HasSuffix(p, "+}")
			if greedy && i != len(parts)-1 {
				return nil, false
			}
			segs = append(segs, resourceSeg{param: true, greedy: greedy})
		default:
			segs = append(segs, resourceSeg{literal: p})
		}
	}
	return segs, true
}

// match reports whether the pattern's path covers the resource path.
func (p *pattern) match(res []resourceSeg) bool {
	for i, ps := range p.segs {
		if ps.kind == segRest {
			return i < len(res) // one or more remaining segments, greedy ones too
		}
		if i >= len(res) || res[i].greedy {
			return false
		}
		if ps.kind == segLiteral && (res[i].param || res[i].literal != ps.literal) {
			return false
		}
	}
	return len(res) == len(p.segs)
}

// compare orders two patterns matching the same resource: > 0 when a is
// more specific than b, 0 when they tie.
func compare(a, b *pattern) int {
	for i := range min(len(a.segs), len(b.segs)) {
		if a.segs[i].kind != b.segs[i].kind {
			return int(a.segs[i].kind) - int(b.segs[i].kind)
		}
	}
	// Equal kinds position by position: both end at the same segment (a
	// trailing * is last, and a shorter pattern without one would need
	// fewer segments than the longer one). Then the exact method wins.
	switch {
	case a.method != "*" && b.method == "*":
		return 1
	case a.method == "*" && b.method != "*":
		return -1
	}
	return 0
}

// sameShape reports whether two patterns match exactly the same requests.
func sameShape(a, b *pattern) bool {
	if a.method != b.method || len(a.segs) != len(b.segs) {
		return false
	}
	for i := range a.segs {
		if a.segs[i] != b.segs[i] {
			return false
		}
	}
	return true
}

// routeMethod is the method a RouteScope names, upper case, "*" for ANY.
func routeMethod(m string) string {
	m = strings.ToUpper(m)
	if v, ok := routeMethods[m]; ok {
		return v
	}
	return m
}

// routeDecision is what a (method, resource path) resolves to on one stage.
type routeDecision struct {
	// routes are the most specific matching routes (one, unless several
	// tie); empty when no route matches: the request is denied.
	routes []apikey.RouteScope
	// allow is the Allow policy's resource: the stage prefix, the method and
	// the resource path with every {param} as *. It is shared: read only.
	allow []string
}

// allows reports whether a key holding scopes may call the route.
func (d *routeDecision) allows(scopes []string) bool {
	for _, r := range d.routes {
		if !r.Allows(scopes) {
			return false
		}
	}
	return len(d.routes) > 0
}

// label names the matched route for the log ("" when none matched).
func (d *routeDecision) label() string {
	if len(d.routes) == 0 {
		return ""
	}
	r := d.routes[0]
	return strings.ToUpper(r.Method) + " " + r.Path
}

// maxCachedRoutes bounds the memo of resolved routes (one per stage, method
// and resource path of the API, so normally a few dozen).
const maxCachedRoutes = 4096

// routeTable finds the route of a request and memoises the answer.
type routeTable struct {
	patterns []pattern

	mu   sync.RWMutex
	memo map[string]*routeDecision
}

// newRouteTable compiles routes. A route whose path does not compile (only
// routes that did not come through ParseRouteScopes can) matches nothing.
func newRouteTable(routes []apikey.RouteScope) *routeTable {
	t := &routeTable{memo: map[string]*routeDecision{}}
	for _, r := range routes {
		segs, err := parsePattern(r.Path)
		if err != nil {
			continue
		}
		t.patterns = append(t.patterns, pattern{method: routeMethod(r.Method), segs: segs, rs: r})
	}
	return t
}

// resolve returns the decision for method on resource through the stage
// prefix ("arn:aws:execute-api:region:account:api/stage/"). ok is false when
// the resource path is not a resource path template.
func (t *routeTable) resolve(prefix, method, resource string) (*routeDecision, bool) {
	method = strings.ToUpper(method)
	key := prefix + "\x00" + method + "\x00" + resource
	t.mu.RLock()
	d, ok := t.memo[key]
	t.mu.RUnlock()
	if ok {
		return d, true
	}
	res, ok := splitResource(resource)
	if !ok {
		return nil, false
	}
	d = &routeDecision{allow: []string{prefix + method + resourceARNPath(res, resource)}}
	var best []*pattern
	for i := range t.patterns {
		p := &t.patterns[i]
		if (p.method != "*" && p.method != method) || !p.match(res) {
			continue
		}
		if len(best) == 0 {
			best = append(best, p)
			continue
		}
		switch c := compare(p, best[0]); {
		case c > 0:
			best = append(best[:0], p)
		case c == 0:
			best = append(best, p)
		}
	}
	for _, p := range best {
		d.routes = append(d.routes, p.rs)
	}
	t.mu.Lock()
	if len(t.memo) >= maxCachedRoutes {
		clear(t.memo)
	}
	t.memo[key] = d
	t.mu.Unlock()
	return d, true
}

// resourceARNPath is the resource path as it appears in a method ARN
// pattern: each {param} (greedy or not) becomes *.
func resourceARNPath(res []resourceSeg, resource string) string {
	if len(res) == 0 {
		return "/"
	}
	var b strings.Builder
	b.Grow(len(resource))
	for _, s := range res {
		b.WriteByte('/')
		if s.param {
			b.WriteByte('*')
		} else {
			b.WriteString(s.literal)
		}
	}
	return b.String()
}

// Route refusals, as logged.
const (
	reasonRouteNotInScopes   = "route_not_in_scopes"
	reasonRouteNotConfigured = "route_not_configured"
)
