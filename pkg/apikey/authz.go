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
}

// AdminRoutes returns keyward's own routes and the scope each needs
// keys:admin implies every one of them (see HasScope).
func AdminRoutes() []RouteScope { return append([]RouteScope(nil), adminRoutes...) }

// Allows reports whether a key holding scopes may call the route.
func (r RouteScope) Allows(scopes []string) bool {
	return r.Scope == "" || HasScope(scopes, r.Scope)
}

// publicRoutes are served with no authorizer (Auth.Authorizer: NONE): the
// admin console's page and fingerprinted assets, which hold nothing secret
// (the page asks for a token and calls the routes above with it).
var publicRoutes = []RouteScope{
	{Method: "GET", Path: "/console"},
	{Method: "GET", Path: "/console/{asset+}"},
}

// PublicRoutes returns the routes served with no authorizer.
func PublicRoutes() []RouteScope { return append([]RouteScope(nil), publicRoutes...) }
