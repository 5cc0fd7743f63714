package apikey

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Admin API scopes.
const (
	ScopeAdmin     = "keys:admin"
	ScopeWrite     = "keys:write"
	ScopeRead      = "keys:read"
	ScopeRevoke    = "keys:revoke"
	ScopeVerify    = "keys:verify"
	ScopeAuditRead = "audit:read"
)

// Platform scopes. Only keys of the operator tenant hold tenants:*, and only
// a key holding a scope of these namespaces grants it (see CanGrant).
const (
	// ScopeTenantsAdmin creates, lists, reads, suspends and resumes tenants.
	ScopeTenantsAdmin = "tenants:admin"
	// ScopeTenantsAct lets a key send Keyward-Tenant to act inside a tenant.
	ScopeTenantsAct = "tenants:act"
	// ScopeActorsAssert lets a key send Keyward-Actor: the person it acts for.
	ScopeActorsAssert = "actors:assert"
)

// PlatformScopes are the scopes of the operator tenant's default key beside
// keys:admin: the platform key.
var PlatformScopes = []string{ScopeTenantsAdmin, ScopeTenantsAct, ScopeActorsAssert}

// adminImplied are the scopes keys:admin implies.
var adminImplied = map[string]bool{
	ScopeWrite: true, ScopeRead: true, ScopeRevoke: true, ScopeVerify: true, ScopeAuditRead: true,
}

var scopeRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]*(:[a-z0-9_.*-]+)*$`)

// ValidScope reports whether s is a well-formed scope.
func ValidScope(s string) bool { return len(s) <= 128 && scopeRE.MatchString(s) }

// implies reports whether a held scope covers want. Segments are separated by
// ':'; a held segment "*" matches any one segment, and a trailing "*" matches
// any remaining segments ("recordings:*" covers "recordings:read"). A wildcard
// never covers keys:admin: only the literal scope is admin, so "keys:*" is
// keys:read, write, revoke and verify, not a way around the admin rule.
func implies(held, want string) bool {
	if held == want {
		return true
	}
	if want == ScopeAdmin {
		return false
	}
	h, w := strings.Split(held, ":"), strings.Split(want, ":")
	for i, seg := range h {
		if i >= len(w) {
			return false
		}
		if seg == "*" {
			if i == len(h)-1 {
				return true
			}
			continue
		}
		if seg != w[i] {
			return false
		}
	}
	return len(h) == len(w)
}

// HasScope reports whether a key holding scopes may act with want.
// keys:admin implies every admin API scope.
func HasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if implies(s, want) {
			return true
		}
		if s == ScopeAdmin && adminImplied[want] {
			return true
		}
	}
	return false
}

// holderOnly are scope namespaces that only a key holding the scope may grant,
// even with keys:admin: they reach beyond the tenant (platform operations,
// asserting who a person is).
var holderOnly = []string{"tenants:", "actors:"}

// CanGrant reports whether a caller holding scopes may give want to a key.
// Nobody grants keys:admin (tenant default keys are minted by keyward);
// keys:admin may grant any other scope except the holder-only namespaces;
// every other key grants only scopes it holds.
func CanGrant(scopes []string, want string) bool {
	if want == ScopeAdmin {
		return false
	}
	if HasScope(scopes, want) {
		return true
	}
	for _, ns := range holderOnly {
		if strings.HasPrefix(want, ns) {
			return false
		}
	}
	return slices.Contains(scopes, ScopeAdmin)
}

// ownNamespaces are the first segments of keyward's own scopes (keys:*,
// audit:read, tenants:*, actors:*): never a protected API's.
var ownNamespaces = map[string]bool{"keys": true, "audit": true, "tenants": true, "actors": true}

// checkKnownScopes refuses, when routeScopes is set, a scope that is neither
// keyward's own nor covers a scope some protected route needs (a typo would
// otherwise be a key that opens nothing). The error names the scope.
func checkKnownScopes(scopes, routeScopes []string) error {
	if len(routeScopes) == 0 {
		return nil
	}
	for i, sc := range scopes {
		ns, _, _ := strings.Cut(sc, ":")
		if ownNamespaces[ns] || slices.ContainsFunc(routeScopes, func(r string) bool { return implies(sc, r) }) {
			continue
		}
		return Invalid("scopes["+strconv.Itoa(i)+"]", "%q is neither one of keyward's scopes nor one the RouteScopes parameter names", sc)
	}
	return nil
}
