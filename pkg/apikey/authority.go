package apikey

import (
	"net/netip"
	"time"
)

// No key acts above itself. A caller may create, edit, rotate or revoke a key
// only when it could grant every scope of that key; a key it creates (or
// rotates, which hands out a new credential) expires no later than the caller
// and its allow-lists sit inside the caller's. Nobody grants keys:admin: the
// tenant's default key is minted by keyward, and rotated only by itself or
// with AWS credentials (break-glass). Every refusal is forbidden (403) and is
// decided before anything is written.

// Principal is the calling key as stored: its scopes, expiry and allow-list
// bound what it may do to other keys. The service reads it afresh for every
// write, or (a create) has DynamoDB check it in the write's own transaction,
// so a restriction added to the caller applies at once.
type Principal struct {
	ID        string
	Scopes    []string
	ExpiresAt *time.Time
	AllowList AllowList
	// Version is the stored version it was read at (0: not read).
	Version int64
}

func principalOf(k *StoredKey) Principal {
	return Principal{ID: k.ID, Scopes: k.Scopes, ExpiresAt: k.ExpiresAt, AllowList: k.AllowList, Version: k.Version}
}

// forbidden returns the 403 for a refused act on another key, naming the field
// that would climb above the caller.
func forbidden(field, format string, args ...any) *Error {
	e := Errorf(ECodeForbidden, format, args...)
	e.Field = field
	e.Message = field + ": " + e.Message
	return e
}

// CanActOnScopes reports whether a caller holding held could grant every
// scope in target, the condition for acting on a key holding target.
func CanActOnScopes(held, target []string) bool {
	for _, sc := range target {
		if !CanGrant(held, sc) {
			return false
		}
	}
	return true
}

// checkScopesBelow refuses when the caller could not grant one of scopes.
func checkScopesBelow(held, scopes []string, verb string) error {
	for _, sc := range scopes {
		if !CanGrant(held, sc) {
			if sc == ScopeAdmin {
				return forbidden("scopes", "cannot %s a key holding %s (nobody grants it)", verb, ScopeAdmin)
			}
			return forbidden("scopes", "cannot %s a key holding %q: this key could not grant it", verb, sc)
		}
	}
	return nil
}

// checkExpiryWithin refuses an expiry later than the caller's own.
func checkExpiryWithin(p Principal, expiresAt *time.Time) error {
	if p.ExpiresAt == nil {
		return nil
	}
	if expiresAt == nil || expiresAt.After(*p.ExpiresAt) {
		return forbidden("expiresAt", "must be no later than this key's own expiry (%s)", p.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkAllowListWithin refuses allow-lists wider than the caller's: each CIDR
// must lie within one of the caller's CIDRs, each origin pattern within one of
// the caller's. An empty list means "anywhere", so it is wider than any
// non-empty list.
func checkAllowListWithin(p Principal, a AllowList) error {
	if len(p.AllowList.IPs) > 0 {
		if len(a.IPs) == 0 {
			return forbidden("allowList.ips", "must sit inside this key's own IP allow-list (an empty list allows every address)")
		}
		for _, s := range a.IPs {
			if !cidrWithin(s, p.AllowList.IPs) {
				return forbidden("allowList.ips", "%s is not inside this key's own IP allow-list", s)
			}
		}
	}
	if len(p.AllowList.Origins) > 0 {
		if len(a.Origins) == 0 {
			return forbidden("allowList.origins", "must sit inside this key's own origin allow-list (an empty list allows every origin)")
		}
		for _, o := range a.Origins {
			if !originWithin(o, p.AllowList.Origins) {
				return forbidden("allowList.origins", "%s is not inside this key's own origin allow-list", o)
			}
		}
	}
	return nil
}

// checkWithin refuses a key the caller could not have created itself: scopes
// it could not grant, a later expiry or a wider allow-list.
func checkWithin(p Principal, k *Key, verb string) error {
	if err := checkScopesBelow(p.Scopes, k.Scopes, verb); err != nil {
		return err
	}
	if err := checkExpiryWithin(p, k.ExpiresAt); err != nil {
		return err
	}
	return checkAllowListWithin(p, k.AllowList)
}

func cidrWithin(s string, outer []string) bool {
	in, err := parseCIDR(s)
	if err != nil {
		return false
	}
	for _, o := range outer {
		op, err := parseCIDR(o)
		if err == nil && prefixWithin(in, op) {
			return true
		}
	}
	return false
}

// prefixWithin reports whether every address of in is in outer. Both come
// from parseCIDR, so IPv4-mapped prefixes are already in IPv4 form.
func prefixWithin(in, outer netip.Prefix) bool {
	return in.Addr().Is4() == outer.Addr().Is4() && outer.Bits() <= in.Bits() && outer.Contains(in.Addr())
}

// originWithin reports whether every origin the pattern o matches is matched
// by one of outer.
func originWithin(o string, outer []string) bool {
	in, ok := parseOriginPattern(o)
	if !ok {
		return false
	}
	for _, c := range outer {
		if op, ok := parseOriginPattern(c); ok && in.within(op) {
			return true
		}
	}
	return false
}
