package apikey

import (
	"regexp"
	"strings"
)

// Admin API scopes (DESIGN §3).
const (
	ScopeAdmin     = "keys:admin"
	ScopeWrite     = "keys:write"
	ScopeRead      = "keys:read"
	ScopeRevoke    = "keys:revoke"
	ScopeVerify    = "keys:verify"
	ScopeAuditRead = "audit:read"
)

// adminImplied are the scopes keys:admin implies.
var adminImplied = map[string]bool{
	ScopeWrite: true, ScopeRead: true, ScopeRevoke: true, ScopeVerify: true, ScopeAuditRead: true,
}

var scopeRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]*(:[a-z0-9_.*-]+)*$`)

// ValidScope reports whether s is a well-formed scope.
func ValidScope(s string) bool { return len(s) <= 128 && scopeRE.MatchString(s) }

// implies reports whether a held scope covers want. Segments are separated by
// ':'; a held segment "*" matches any one segment, and a trailing "*" matches
// any remaining segments ("recordings:*" covers "recordings:read").
func implies(held, want string) bool {
	if held == want {
		return true
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

// CanGrant reports whether a caller holding scopes may give want to a new key:
// only scopes it holds, except that keys:admin may grant any scope.
func CanGrant(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == ScopeAdmin {
			return true
		}
	}
	return HasScope(scopes, want)
}
