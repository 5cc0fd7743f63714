package apikey

// RouteScope says which scope a route needs. Path is an API Gateway resource
// path; its parameters ({keyId}) stand for any one value. An empty Scope
// means any valid key may call the route.
type RouteScope struct {
	Method string
	Path   string
	Scope  string
	// Function is the template logical ID of the function serving one of
	// keyward's own routes; empty for a protected API's route.
	Function string
	// Public marks one of keyward's own routes served without a key (its Api
	// event has Auth: {Authorizer: NONE}); it answers the same to everyone
	// and changes nothing.
	Public bool
}

// adminRoutes is the one declaration of keyward's own routes: the router
// checks the scope before reading a body, the authorizer builds its
// policies from it, and the template checks hold template.yaml's Api events
// to it. A new route is one line here (and its handler).
// POST /v1/leaks is deliberately absent: secret scanners call it with no key
// (the gateway runs no authorizer for it) and pkg/leaks checks its ECDSA
// signature instead, so no key's scopes may ever allow it.
var adminRoutes = []RouteScope{
	{Method: "POST", Path: "/v1/keys", Scope: ScopeWrite, Function: "CreateFunction"},
	{Method: "GET", Path: "/v1/keys", Scope: ScopeRead, Function: "ListFunction"},
	{Method: "GET", Path: "/v1/keys/{keyId}", Scope: ScopeRead, Function: "ListFunction"},
	{Method: "PATCH", Path: "/v1/keys/{keyId}", Scope: ScopeWrite, Function: "EditFunction"},
	{Method: "POST", Path: "/v1/keys/{keyId}/rotate", Scope: ScopeWrite, Function: "EditFunction"},
	{Method: "DELETE", Path: "/v1/keys/{keyId}", Scope: ScopeRevoke, Function: "RevokeFunction"},
	{Method: "POST", Path: "/v1/keys/batch-revoke", Scope: ScopeRevoke, Function: "RevokeFunction"},
	{Method: "GET", Path: "/v1/audit", Scope: ScopeAuditRead, Function: "AuditFunction"},
	{Method: "POST", Path: "/v1/verify", Scope: ScopeVerify, Function: "VerifyFunction"},
	{Method: "GET", Path: "/v1/whoami", Scope: "", Function: "VerifyFunction"},
	{Method: "GET", Path: "/v1/openapi.json", Scope: "", Function: "VerifyFunction", Public: true},
	{Method: "GET", Path: "/v1/policy", Scope: ScopeAdmin, Function: "PolicyFunction"},
	{Method: "PUT", Path: "/v1/policy", Scope: ScopeAdmin, Function: "PolicyFunction"},
	{Method: "POST", Path: "/v1/tenants", Scope: ScopeTenantsAdmin, Function: "TenantsFunction"},
	{Method: "GET", Path: "/v1/tenants", Scope: ScopeTenantsAdmin, Function: "TenantsFunction"},
	{Method: "GET", Path: "/v1/tenants/{tenantId}", Scope: ScopeTenantsAdmin, Function: "TenantsFunction"},
	{Method: "POST", Path: "/v1/tenants/{tenantId}/suspend", Scope: ScopeTenantsAdmin, Function: "TenantsFunction"},
	{Method: "POST", Path: "/v1/tenants/{tenantId}/resume", Scope: ScopeTenantsAdmin, Function: "TenantsFunction"},
}

// AdminRoutes returns keyward's own routes, the scope each needs and the
// function serving it. keys:admin implies every one of them (see HasScope).
func AdminRoutes() []RouteScope { return append([]RouteScope(nil), adminRoutes...) }

// AdminRoute returns the entry of keyward's own route method path.
func AdminRoute(method, path string) (RouteScope, bool) {
	for _, r := range adminRoutes {
		if r.Method == method && r.Path == path {
			return r, true
		}
	}
	return RouteScope{}, false
}

// Allows reports whether a key holding scopes may call the route.
func (r RouteScope) Allows(scopes []string) bool {
	return r.Scope == "" || HasScope(scopes, r.Scope)
}

// publicRoutes are served with no authorizer (Auth.Authorizer: NONE): the
// admin console's page and fingerprinted assets, which hold nothing secret
// (the page asks for a token and calls the routes above with it).
var publicRoutes = []RouteScope{
	{Method: "GET", Path: "/console", Function: "ConsoleFunction"},
	{Method: "GET", Path: "/console/{asset+}", Function: "ConsoleFunction"},
}

// PublicRoutes returns the routes served with no authorizer.
func PublicRoutes() []RouteScope { return append([]RouteScope(nil), publicRoutes...) }
