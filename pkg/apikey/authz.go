package apikey

// RouteScope says which scope a route needs. Path is an API Gateway resource
// path; its parameters ({keyId}) stand for any one value. An empty Scope
// means any valid key may call the route.
type RouteScope struct {
	Method string
	Path   string
	Scope  string
}

// adminRoutes are keyward's own routes and the scope each needs.
// POST /v1/leaks is deliberately absent: secret scanners call it with no key
// (the gateway runs no authorizer for it) and pkg/leaks checks its ECDSA
// signature instead, so no key's scopes may ever allow it.
var adminRoutes = []RouteScope{
	{Method: "POST", Path: "/v1/keys", Scope: ScopeWrite},
	{Method: "PATCH", Path: "/v1/keys/{keyId}", Scope: ScopeWrite},
	{Method: "POST", Path: "/v1/keys/{keyId}/rotate", Scope: ScopeWrite},
	{Method: "GET", Path: "/v1/keys", Scope: ScopeRead},
	{Method: "GET", Path: "/v1/keys/{keyId}", Scope: ScopeRead},
	{Method: "DELETE", Path: "/v1/keys/{keyId}", Scope: ScopeRevoke},
	{Method: "POST", Path: "/v1/keys/batch-revoke", Scope: ScopeRevoke},
	{Method: "GET", Path: "/v1/audit", Scope: ScopeAuditRead},
	{Method: "POST", Path: "/v1/verify", Scope: ScopeVerify},
	{Method: "GET", Path: "/v1/whoami", Scope: ""},
	{Method: "GET", Path: "/v1/policy", Scope: ScopeAdmin},
	{Method: "PUT", Path: "/v1/policy", Scope: ScopeAdmin},
}

// AdminRoutes returns keyward's own routes and the scope each needs
// keys:admin implies every one of them (see HasScope).
func AdminRoutes() []RouteScope { return append([]RouteScope(nil), adminRoutes...) }

// Allows reports whether a key holding scopes may call the route.
func (r RouteScope) Allows(scopes []string) bool {
	return r.Scope == "" || HasScope(scopes, r.Scope)
}
