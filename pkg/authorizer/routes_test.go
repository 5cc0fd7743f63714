package authorizer

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/pkg/apikey"
)

const testStage = "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/"

// nestedRoutes share prefixes, parameters and wildcards in every way the
// matching rules order.
var nestedRoutes = []apikey.RouteScope{
	{Method: "GET", Path: "/recordings/{id}", Scope: "recordings:read"},
	{Method: "GET", Path: "/recordings/{id}/audio", Scope: "recordings:audio"},
	{Method: "GET", Path: "/recordings/latest", Scope: "recordings:latest"},
	{Method: "GET", Path: "/recordings/*", Scope: "recordings:list"},
	{Method: "ANY", Path: "/recordings/{id}", Scope: "recordings:any"},
	{Method: "GET", Path: "/tenants/{t}", Scope: "tenants:read"},
	{Method: "GET", Path: "/tenants/{t}/billing/{inv}", Scope: "billing:read"},
	{Method: "ANY", Path: "/files/{path+}", Scope: "files:read"},
	{Method: "GET", Path: "/files/public/*", Scope: "files:public"},
	{Method: "GET", Path: "/", Scope: "root:read"},
	{Method: "*", Path: "/*", Scope: "everything:write"},
}

// TestRouteMatching: which route a method and resource path resolve to, and
// the one ARN pattern an Allow for it names.
func TestRouteMatching(t *testing.T) {
	tbl := newRouteTable(nestedRoutes)
	for _, c := range []struct {
		method, resource string
		route            string // "" for none: the request is denied
		allow            string // after the stage prefix
	}{
		{"GET", "/recordings/{recordingId}", "GET /recordings/{id}", "GET/recordings/*"},
		{"GET", "/recordings/{recordingId}/audio", "GET /recordings/{id}/audio", "GET/recordings/*/audio"},
		{"GET", "/recordings/latest", "GET /recordings/latest", "GET/recordings/latest"},
		// {p} is one segment: deeper paths fall to the trailing *, and a
		// greedy resource parameter only to *.
		{"GET", "/recordings/{recordingId}/video", "GET /recordings/*", "GET/recordings/*/video"},
		{"GET", "/recordings/{proxy+}", "GET /recordings/*", "GET/recordings/*"},
		// * is one or more segments, never none.
		{"GET", "/recordings", "* /*", "GET/recordings"},
		// An exact method beats ANY on the same path, but the path decides
		// first: ANY /recordings/{id} beats * /* for POST.
		{"PUT", "/recordings/{recordingId}", "ANY /recordings/{id}", "PUT/recordings/*"},
		{"POST", "/recordings/{recordingId}", "ANY /recordings/{id}", "POST/recordings/*"},
		{"get", "/recordings/{recordingId}", "GET /recordings/{id}", "GET/recordings/*"},
		// A pattern literal matches only that literal; {p} a literal too.
		{"GET", "/tenants/acme", "GET /tenants/{t}", "GET/tenants/acme"},
		{"GET", "/tenants/{tenantId}", "GET /tenants/{t}", "GET/tenants/*"},
		{"GET", "/tenants/{tenantId}/billing/{invoiceId}", "GET /tenants/{t}/billing/{inv}", "GET/tenants/*/billing/*"},
		{"GET", "/tenants/{tenantId}/billing", "* /*", "GET/tenants/*/billing"},
		{"GET", "/tenants/{tenantId}/{section}", "* /*", "GET/tenants/*/*"},
		{"GET", "/files/{proxy+}", "ANY /files/{path+}", "GET/files/*"},
		{"GET", "/files/a", "ANY /files/{path+}", "GET/files/a"},
		{"GET", "/files/public/{name}", "GET /files/public/*", "GET/files/public/*"},
		{"DELETE", "/files/public/{name}", "ANY /files/{path+}", "DELETE/files/public/*"},
		{"GET", "/", "GET /", "GET/"},
		{"POST", "/", "", "POST/"},
	} {
		d, ok := tbl.resolve(testStage, c.method, c.resource)
		if !ok {
			t.Errorf("%s %s: not a resource path", c.method, c.resource)
			continue
		}
		if got := d.label(); got != c.route {
			t.Errorf("%s %s resolves to %q, want %q", c.method, c.resource, got, c.route)
		}
		if len(d.allow) != 1 || d.allow[0] != testStage+c.allow {
			t.Errorf("%s %s: Allow names %v, want %s", c.method, c.resource, d.allow, testStage+c.allow)
		}
	}
	for _, bad := range []string{"", "recordings", "/recordings//x", "/recordings/", "/{proxy+}/x"} {
		if _, ok := tbl.resolve(testStage, "GET", bad); ok {
			t.Errorf("resource %q accepted", bad)
		}
	}
}

// TestRouteScopeDecides: the key needs the scope of the route that wins,
// not of any route sharing its prefix.
func TestRouteScopeDecides(t *testing.T) {
	tbl := newRouteTable(append(apikey.AdminRoutes(), nestedRoutes...))
	for _, c := range []struct {
		scopes           []string
		method, resource string
		want             bool
	}{
		{[]string{"recordings:read"}, "GET", "/recordings/{recordingId}", true},
		{[]string{"recordings:read"}, "GET", "/recordings/{recordingId}/audio", false},
		{[]string{"recordings:audio"}, "GET", "/recordings/{recordingId}/audio", true},
		{[]string{"recordings:read"}, "GET", "/recordings/latest", false},
		{[]string{"recordings:list"}, "GET", "/recordings/{recordingId}", false},
		{[]string{"tenants:read"}, "GET", "/tenants/{t}/billing/{inv}", false},
		{[]string{"billing:read"}, "GET", "/tenants/{t}/billing/{inv}", true},
		{[]string{"recordings:*"}, "GET", "/recordings/{recordingId}/audio", true},
		{[]string{"keys:read"}, "GET", "/v1/keys/{keyId}", true},
		{[]string{"keys:read"}, "POST", "/v1/keys/{keyId}/rotate", false},
		{[]string{"keys:read"}, "PATCH", "/v1/keys/{keyId}", false},
		{[]string{"keys:write"}, "POST", "/v1/keys/{keyId}/rotate", true},
		{[]string{"keys:write"}, "POST", "/v1/keys/batch-revoke", false},
		{[]string{"keys:revoke"}, "POST", "/v1/keys/batch-revoke", true},
		{[]string{"keys:read"}, "GET", "/v1/whoami", true},
		{[]string{"everything:write"}, "POST", "/v1/keys", false},
		{[]string{"everything:write"}, "POST", "/v1/other", true},
	} {
		d, ok := tbl.resolve(testStage, c.method, c.resource)
		if !ok {
			t.Fatalf("%s %s: not a resource path", c.method, c.resource)
		}
		if got := d.allows(c.scopes); got != c.want {
			t.Errorf("%v on %s %s (route %q) = %v, want %v", c.scopes, c.method, c.resource, d.label(), got, c.want)
		}
	}
}

// TestTiedRoutesMustAllAllow: routes of the same method and shape (only
// possible when they do not come through ParseRouteScopes) all decide.
func TestTiedRoutesMustAllAllow(t *testing.T) {
	tbl := newRouteTable([]apikey.RouteScope{
		{Method: "GET", Path: "/a/{x}", Scope: "a:one"},
		{Method: "GET", Path: "/a/{y}", Scope: "a:two"},
	})
	d, _ := tbl.resolve(testStage, "GET", "/a/{id}")
	if len(d.routes) != 2 || d.allows([]string{"a:one"}) || d.allows([]string{"a:two"}) || !d.allows([]string{"a:one", "a:two"}) {
		t.Errorf("tied routes %v: a key needs both scopes", d.routes)
	}
}

func TestParseRouteScopes(t *testing.T) {
	rs, err := ParseRouteScopes(`{"GET /": "root:read", "ANY /files/{path+}": "files:read", "* /x/*": "x:any",
		"get /recordings/{id}": "recordings:read", "GET /recordings/{id}/audio": "recordings:audio", "GET /v1/keys/{keyId}/labels": "labels:read"}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Method+" "+r.Path+" "+r.Scope)
	}
	want := "* /x/* x:any|ANY /files/{path+} files:read|GET / root:read|GET /recordings/{id} recordings:read|GET /recordings/{id}/audio recordings:audio|GET /v1/keys/{keyId}/labels labels:read"
	if strings.Join(got, "|") != want {
		t.Errorf("routes = %s\nwant %s", strings.Join(got, "|"), want)
	}
	if rs, err := ParseRouteScopes("  "); err != nil || rs != nil {
		t.Errorf("empty = %v, %v", rs, err)
	}
}

func TestParseRouteScopesRefusals(t *testing.T) {
	for _, c := range []struct{ json, names string }{
		{`{"GET /recordings/*/audio": "a:b"}`, `"GET /recordings/*/audio"`},
		{`{"GET /recordings/rec*": "a:b"}`, `"GET /recordings/rec*"`},
		{`{"GET /recordings/**": "a:b"}`, `"GET /recordings/**"`},
		{`{"GET /*/x": "a:b"}`, `"GET /*/x"`},
		{`{"GET /a//b": "a:b"}`, `"GET /a//b"`},
		{`{"GET /a/": "a:b"}`, `"GET /a/"`},
		{`{"GET //": "a:b"}`, `"GET //"`},
		{`{"GET /a/{id": "a:b"}`, `"GET /a/{id"`},
		{`{"GET /a/x{id}": "a:b"}`, `"GET /a/x{id}"`},
		{`{"GET /a/{}": "a:b"}`, `"GET /a/{}"`},
		{`{"GET /{p+}/x": "a:b"}`, `"GET /{p+}/x"`},
		{`{"GET a/b": "a:b"}`, `"GET a/b"`},
		{`{"GET /a?b": "a:b"}`, `"GET /a?b"`},
		{`{"FETCH /a": "a:b"}`, `"FETCH /a"`},
		{`{"/a": "a:b"}`, `"/a"`},
		{`{"GET /a": "Not a scope"}`, `"GET /a"`},
		{`{"GET /a/{x}": "a:b", "GET /a/{y}": "a:c"}`, `"GET /a/{x}" and "GET /a/{y}"`},
		{`{"ANY /a": "a:b", "* /a": "a:c"}`, `"* /a" and "ANY /a"`},
		{`{"GET /a/*": "a:b", "GET /a/{rest+}": "a:c"}`, `"GET /a/*" and "GET /a/{rest+}"`},
		{`{"GET /v1/keys/{id}": "a:b"}`, `"GET /v1/keys/{id}"`},
		{`["GET /a"]`, `JSON object`},
	} {
		_, err := ParseRouteScopes(c.json)
		if err == nil {
			t.Errorf("%s accepted", c.json)
			continue
		}
		if !strings.Contains(err.Error(), c.names) {
			t.Errorf("%s: error %q does not name %s", c.json, err, c.names)
		}
	}
}

// FuzzParseRouteScopes: any RouteScopes value either is refused or yields
// routes that each win (or tie) for their own resource path: nothing more
// specific can match a route's own path, so no route is unreachable.
func FuzzParseRouteScopes(f *testing.F) {
	for _, s := range []string{
		`{"GET /recordings/{id}": "recordings:read", "GET /recordings/{id}/audio": "recordings:audio"}`,
		`{"ANY /files/{path+}": "files:read", "GET /files/public/*": "files:public", "GET /": "root:read"}`,
		`{"* /*": "all:all", "POST /x/{y}/z": "x:y"}`,
		`{"GET /a/*/b": "a:b"}`, `{"GET /a/{x}": "a:b", "GET /a/{y}": "a:c"}`, `{}`, ``, `[`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseRouteScopes(s)
		if err != nil {
			return
		}
		tbl := newRouteTable(append(apikey.AdminRoutes(), rs...))
		if len(tbl.patterns) != len(rs)+len(apikey.AdminRoutes()) {
			t.Fatalf("a parsed route does not compile: %v", rs)
		}
		for i := range tbl.patterns {
			p := &tbl.patterns[i]
			method := p.method
			if method == "*" {
				method = "GET"
			}
			d, ok := tbl.resolve(testStage, method, ownResource(p))
			if !ok {
				t.Fatalf("route %s %s: its own resource path %q does not parse", p.rs.Method, p.rs.Path, ownResource(p))
			}
			for _, w := range d.routes {
				segs, _ := parsePattern(w.Path)
				if !sameShape(&pattern{method: p.method, segs: p.segs}, &pattern{method: p.method, segs: segs}) {
					t.Fatalf("route %s %s loses to %s %s on its own path", p.rs.Method, p.rs.Path, w.Method, w.Path)
				}
			}
			if len(d.routes) == 0 {
				t.Fatalf("route %s %s does not match its own path", p.rs.Method, p.rs.Path)
			}
		}
	})
}

// ownResource is a resource path a pattern matches: its literals, {p} for
// one segment and {proxy+} for the rest.
func ownResource(p *pattern) string {
	if len(p.segs) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, s := range p.segs {
		b.WriteByte('/')
		switch s.kind {
		case segLiteral:
			b.WriteString(s.literal)
		case segParam:
			b.WriteString("{p}")
		case segRest:
			b.WriteString("{proxy+}")
		}
	}
	return b.String()
}
