package apikey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzList splits a fuzz string into list entries (comma separated), at most
// max of them, so one input can stand for a whole list.
func fuzzList(s string, max int) []string {
	if s == "" {
		return nil
	}
	l := strings.Split(s, ",")
	if len(l) > max {
		l = l[:max]
	}
	return l
}

// FuzzAllowList checks allow-list parsing: a refusal is invalid_request
// naming the entry; an accepted list is canonical (normalising it again
// changes nothing), every entry of it re-parses to itself, every address of
// an accepted entry is in the stored list, and the list sits inside itself.
func FuzzAllowList(f *testing.F) {
	for _, s := range [][2]string{
		{"10.1.2.3", "https://crm.example.com"},
		{"10.1.2.3/24,10.1.2.0/24", "HTTPS://CRM.Example.COM,https://crm.example.com"},
		{"::ffff:10.0.0.1", "https://a.example.com:443"},
		{"::ffff:10.0.0.1/120,::ffff:10.0.0.1/90", "https://a.example.com:0443"},
		{"fe80::1%eth0", "https://a.example.com."},
		{"fe80::1%eth0/64", "https://user:pw@a.example.com"},
		{"2001:DB8::1/32, 192.168.0.1/33", "*.example.com,*.com"},
		{"0.0.0.0/0,::/0", "https://b\u00fccher.de"},
		{"010.1.2.3", "https://xn--bcher-kva.de:8443"},
		{" 10.1.2.3 ", " https://a.example.com "},
		{"1.2.3.4/-1", "https://a.example.com:65536"},
		{"::ffff:1.2.3.4/95", "*.a..b"},
		{"", "https://[::1]"},
		{"1.2.3.4\x00", "https://a.example.com/path"},
	} {
		f.Add(s[0], s[1], uint64(0x0123456789abcdef))
	}
	f.Fuzz(func(t *testing.T, ips, origins string, r uint64) {
		in := AllowList{IPs: fuzzList(ips, MaxCIDRs+2), Origins: fuzzList(origins, MaxOrigins+2)}
		n, err := normalizeAllowList(text, in)
		if err != nil {
			e, ok := AsError(err)
			if !ok || e.Code != ECodeInvalid || !strings.HasPrefix(e.Field, "allowList.") {
				t.Fatalf("normalizeAllowList(text, %q) err = %v, want invalid_request naming an allowList entry", in, err)
			}
			return
		}
		again, err := normalizeAllowList(text, n)
		if err != nil || !slices.Equal(again.IPs, n.IPs) || !slices.Equal(again.Origins, n.Origins) {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", in, n, again, err)
		}
		for _, s := range n.IPs {
			p, err := parseCIDR(s)
			if err != nil || p.String() != s || p != p.Masked() || p.Addr().Zone() != "" {
				t.Fatalf("stored CIDR %q re-parses as %v (%v)", s, p, err)
			}
		}
		for _, o := range n.Origins {
			if got, ok := NormalizeOrigin(o); !ok || got != o || strings.ToLower(o) != o {
				t.Fatalf("stored origin %q normalises to %q, %v", o, got, ok)
			}
		}
		for _, s := range in.IPs {
			p, _ := parseCIDR(s)
			if !cidrWithin(s, n.IPs) {
				t.Fatalf("accepted entry %q is not within the stored list %q", s, n.IPs)
			}
			for _, a := range samplePrefix(p, r) {
				if !slices.ContainsFunc(n.IPs, func(c string) bool { return prefixHolds(mustPrefix(t, c), a) }) {
					t.Fatalf("%s is inside accepted entry %q but in none of the stored %q", a, s, n.IPs)
				}
			}
		}
		if err := checkAllowListWithin(Principal{AllowList: n}, n); err != nil {
			t.Fatalf("a list is not within itself: %q: %v", n, err)
		}
	})
}

// FuzzAllowListWithin checks the containment a caller's allow-list puts on
// the keys it creates: when checkAllowListWithin accepts a list, every
// address sampled from each new CIDR lies in one of the caller's CIDRs, and
// every origin a new pattern lets in is let in by one of the caller's; a
// refusal is forbidden naming the list.
func FuzzAllowListWithin(f *testing.F) {
	for _, s := range [][4]string{
		{"10.1.2.0/24", "10.1.2.3/32", "https://crm.example.com", "https://crm.example.com"},
		{"10.1.2.0/24", "10.1.0.0/16", "*.example.org", "*.b.example.org"},
		{"10.0.0.0/8", "::ffff:10.1.2.3/120", "*.example.org", "*.example.org"},
		{"::ffff:10.0.0.0/104", "10.1.2.3", "https://a.example.com", "https://a.example.com:443"},
		{"::/64", "::ffff:1.2.3.4", "https://a.example.com:443", "https://a.example.com"},
		{"::/0", "0.0.0.0/0", "*.example.com", "https://example.com"},
		{"2001:db8::/32", "32.1.13.184/32", "*.example.com", "https://badexample.com"},
		{"10.1.2.3/32", "", "https://a.example.com", ""},
		{"", "10.1.2.3/32", "", "https://a.example.com"},
		{"fe80::/10", "fe80::1%eth0", "*.a.example.com", "*.example.com"},
	} {
		f.Add(s[0], s[1], s[2], s[3], uint64(7))
	}
	f.Fuzz(func(t *testing.T, callerIPs, newIPs, callerOrigins, newOrigins string, r uint64) {
		caller, err1 := normalizeAllowList(text, AllowList{IPs: fuzzList(callerIPs, 8), Origins: fuzzList(callerOrigins, 8)})
		n, err2 := normalizeAllowList(text, AllowList{IPs: fuzzList(newIPs, 8), Origins: fuzzList(newOrigins, 8)})
		if err1 != nil || err2 != nil {
			return
		}
		err := checkAllowListWithin(Principal{AllowList: caller}, n)
		if err != nil {
			e, ok := AsError(err)
			if !ok || e.Code != ECodeForbidden || (e.Field != "allowList.ips" && e.Field != "allowList.origins") {
				t.Fatalf("refusal %v is not forbidden naming the list", err)
			}
			return
		}
		if len(caller.IPs) > 0 {
			for _, s := range n.IPs {
				for _, a := range samplePrefix(mustPrefix(t, s), r) {
					if !slices.ContainsFunc(caller.IPs, func(c string) bool { return prefixHolds(mustPrefix(t, c), a) }) {
						t.Fatalf("%q accepted within %q, but %s is in it and not in the caller's", s, caller.IPs, a)
					}
				}
			}
		}
		if len(caller.Origins) > 0 {
			for _, o := range n.Origins {
				for _, req := range originSamples(o, r) {
					if !originLetIn(o, req) {
						t.Fatalf("sample %q of %q is not let in by it", req, o)
					}
					if !slices.ContainsFunc(caller.Origins, func(c string) bool { return originLetIn(c, req) }) {
						t.Fatalf("%q accepted within %q, but lets in %q which the caller's do not", o, caller.Origins, req)
					}
				}
			}
		}
	})
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := parseCIDR(s)
	if err != nil {
		t.Fatalf("stored CIDR %q does not parse: %v", s, err)
	}
	return p
}

// as16 is p in IPv6 space: an IPv4 prefix becomes its IPv4-mapped form, so
// 10.0.0.0/8 and ::ffff:10.0.0.0/104 are the same set of addresses.
func as16(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4() {
		return netip.PrefixFrom(netip.AddrFrom16(p.Addr().As16()), p.Bits()+96)
	}
	return p
}

// prefixHolds reports whether address a (in IPv6 space) is in p.
func prefixHolds(p netip.Prefix, a netip.Addr) bool { return as16(p).Contains(a) }

// samplePrefix returns addresses of p in IPv6 space: its first and last and
// one picked by r.
func samplePrefix(p netip.Prefix, r uint64) []netip.Addr {
	p = as16(p.Masked())
	base := p.Addr().As16()
	first, last, mid := base, base, base
	var rnd [16]byte
	binary.BigEndian.PutUint64(rnd[:8], r*0x9e3779b97f4a7c15)
	binary.BigEndian.PutUint64(rnd[8:], r)
	for i := p.Bits(); i < 128; i++ {
		bit := byte(0x80 >> (i % 8))
		last[i/8] |= bit
		mid[i/8] |= rnd[i/8] & bit
	}
	return []netip.Addr{netip.AddrFrom16(first), netip.AddrFrom16(last), netip.AddrFrom16(mid)}
}

// originSamples returns request origins that pattern o (as stored) lets in.
func originSamples(o string, r uint64) []string {
	if suffix, ok := strings.CutPrefix(o, "*."); ok {
		return []string{"https://x." + suffix, "https://a.b." + suffix + ":" + itoa(1+r%65535)}
	}
	if _, port, ok := strings.Cut(strings.TrimPrefix(o, "https://"), ":"); ok && port == "443" {
		return []string{o, strings.TrimSuffix(o, ":443")}
	}
	return []string{o}
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// originLetIn is the enforcement rule stated once more, independently:
// https://host[:port] lets in that host and port (443 when absent); *.suffix
// lets in any https origin on a subdomain of suffix, on any port.
func originLetIn(pattern, req string) bool {
	rest, ok := strings.CutPrefix(req, "https://")
	if !ok {
		return false
	}
	host, port, hasPort := strings.Cut(rest, ":")
	if !hasPort {
		port = "443"
	}
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	ph, pp, hasPort := strings.Cut(strings.TrimPrefix(pattern, "https://"), ":")
	if !hasPort {
		pp = "443"
	}
	return host == ph && port == pp
}

// fuzzProbes are scopes whose reach the grant rules must never exceed.
var fuzzProbes = []string{
	ScopeAdmin, "keys:*", ScopeWrite, ScopeRead, ScopeRevoke, ScopeVerify, ScopeAuditRead,
	"tenants:act", "tenants:*", "actors:assert", "recordings:read", "recordings:*", "recordings:read:audio",
}

// FuzzGrantMonotonicity checks that no key climbs above itself: nobody grants
// keys:admin; keys:* does not imply it; whatever a key that the caller may
// act on could do, the caller could grant; and acting on is transitive, so
// a chain of keys reaches nothing its first could not grant.
func FuzzGrantMonotonicity(f *testing.F) {
	for _, s := range [][4]string{
		{"keys:admin", "keys:*", "keys:write", "keys:admin"},
		{"keys:write", "keys:admin", "", "keys:admin"},
		{"keys:admin", "tenants:*", "tenants:act", "tenants:act"},
		{"keys:admin", "actors:x", "", "actors:x"},
		{"keys:*", "keys:write,keys:read", "keys:revoke", "keys:admin"},
		{"recordings:*", "recordings:*:audio", "recordings:read:audio", "recordings:read:audio"},
		{"a:*:c", "a:*:c", "a:b:c", "a:b:c:d"},
		{"a:*", "a:b:*", "a:b:c:d", "a:b"},
		{"tenants:act", "tenants:act", "tenants:act", "tenants:act"},
		{"keys:admin", "audit:*,keys:*", "audit:read", "audit:write"},
		{"keys:admin", "*", "tenants:act", "tenants:act"},
		{"tenants", "tenants", "", "tenants:x"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, heldS, midS, lowS, probe string) {
		held, mid, low := fuzzList(heldS, 16), fuzzList(midS, 16), fuzzList(lowS, 16)
		// Rules that hold for any scope strings at all.
		for _, set := range [][]string{held, mid, low, {probe}} {
			if CanGrant(set, ScopeAdmin) {
				t.Fatalf("%q may grant %s", set, ScopeAdmin)
			}
			if HasScope(set, ScopeAdmin) && !slices.Contains(set, ScopeAdmin) {
				t.Fatalf("%q implies %s without holding it", set, ScopeAdmin)
			}
			for _, p := range append(slices.Clone(fuzzProbes), probe) {
				if CanGrant(set, p) && !CanGrant(append(slices.Clone(set), mid...), p) {
					t.Fatalf("adding scopes to %q took away granting %q", set, p)
				}
			}
		}
		// Keys hold only valid scopes (create refuses others).
		valid := func(l []string) []string {
			return slices.DeleteFunc(slices.Clone(l), func(s string) bool { return !ValidScope(s) })
		}
		held, mid, low = valid(held), valid(mid), valid(low)
		if !slices.Contains(held, ScopeAdmin) && !CanActOnScopes(held, held) {
			t.Fatalf("%q cannot act on a key holding its own scopes", held)
		}
		if !CanActOnScopes(held, mid) {
			return
		}
		probes := append(slices.Clone(fuzzProbes), probe)
		for _, s := range append(slices.Clone(mid), low...) {
			probes = append(probes, s, strings.ReplaceAll(s, "*", "x"), s+":x", strings.ReplaceAll(s, "*", "x")+":y")
		}
		for _, p := range probes {
			if HasScope(mid, p) && !CanGrant(held, p) {
				t.Fatalf("%q may act on %q, which has %q that %q could not grant", held, mid, p, held)
			}
		}
		if CanActOnScopes(mid, low) && !CanActOnScopes(held, low) {
			t.Fatalf("%q acts on %q, which acts on %q, beyond %q", held, mid, low, held)
		}
	})
}

// clip shortens s for a failure message: its ends are what differs.
func clip(s string) string {
	if len(s) <= 120 {
		return s
	}
	return s[:50] + "..." + s[len(s)-50:]
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// fuzzHasher is a Hasher with a fixed HMAC-SHA256 key; enough to seal and
// open cursors without KMS.
type fuzzHasher struct{ key []byte }

func (h fuzzHasher) mac(purpose string, data []byte) []byte {
	m := hmac.New(sha256.New, append(slices.Clone(h.key), purpose...))
	m.Write(data)
	return m.Sum(nil)
}

func (h fuzzHasher) Hash(_ context.Context, secret []byte) (Hash, error) {
	return Hash{Version: 1, Sum: h.mac("hash", secret)}, nil
}

func (h fuzzHasher) Verify(_ context.Context, secret []byte, hh Hash) (bool, error) {
	return hh.Version == 1 && hmac.Equal(hh.Sum, h.mac("hash", secret)), nil
}

func (h fuzzHasher) MAC(_ context.Context, purpose string, data []byte) ([]byte, error) {
	return h.mac(purpose, data), nil
}

// FuzzOpenCursor checks list cursors: a sealed cursor opens to what it was
// sealed with, under its own binding only; every change to it, and every
// string that is not one, is invalid_request naming cursor; nothing panics.
func FuzzOpenCursor(f *testing.F) {
	for _, s := range []struct {
		after, binding, other, arbitrary string
		pos                              uint16
		b                                byte
	}{
		{`{"pk":"T#acme","sk":"KEY#key_01"}`, "acme\x00\x00\x00", "acme\x00active\x00\x00", "", 0, 'A'},
		{"eyJhIjoiYiJ9", "AUDIT\x00acme\x00\x00\x00\x00\x00", "AUDIT\x00acmf\x00\x00\x00\x00\x00", "eyJhIjoiIn0.AAAA", 5, 0},
		{"x", "acme\x00\x00\x00pay", "acme\x00\x00\x00payroll", "..", 1, '.'},
		{"caf\u00e9 \u202e", "acme", "acme\x00", "e30.", 1, '='},
		{strings.Repeat("z", 3000), "acme", "", strings.Repeat("A", 5000) + ".", 4000, '-'},
		{"a", "acme", "acme", "eyJhIjoiYSJ9.!", 3, '_'},
	} {
		f.Add(s.after, s.binding, s.other, s.arbitrary, s.pos, s.b)
	}
	f.Fuzz(func(t *testing.T, after, binding, other, arbitrary string, pos uint16, b byte) {
		ctx := context.Background()
		s := &Service{hasher: fuzzHasher{key: []byte("fuzz cursor key")}}
		wantRefused := func(what, cursor, binding string) {
			t.Helper()
			got, err := s.openCursor(ctx, cursor, binding)
			var e *Error
			if !errors.As(err, &e) || e.Code != ECodeInvalid || e.Field != "cursor" {
				t.Fatalf("%s %q opened as %q (err %v), want invalid_request naming cursor", what, clip(cursor), clip(got), err)
			}
		}
		// Arbitrary strings: refused, or exactly the cursor sealing gives.
		if got, err := s.openCursor(ctx, arbitrary, binding); err == nil {
			if again, _ := s.sealCursor(ctx, got, binding); again != arbitrary {
				t.Fatalf("%q opened as %q, but that seals as %q", clip(arbitrary), clip(got), clip(again))
			}
		} else if e, ok := AsError(err); !ok || e.Code != ECodeInvalid || e.Field != "cursor" {
			t.Fatalf("opening %q: %v, want invalid_request naming cursor", clip(arbitrary), err)
		}

		if after == "" || !utf8.ValidString(after) {
			return // the store's continuation tokens are non-empty text
		}
		c, err := s.sealCursor(ctx, after, binding)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) <= 2048 {
			if got, err := s.openCursor(ctx, c, binding); err != nil || got != after {
				t.Fatalf("seal(%q) opened as %q, %v", clip(after), clip(got), err)
			}
		}
		if other != binding {
			wantRefused("a cursor opened under another binding", c, other)
		}
		// One change at the fuzzed position: b inserted, put in place, or the
		// byte there dropped.
		i := int(pos) % (len(c) + 1)
		wantRefused("a cursor with a byte inserted", c[:i]+string([]byte{b})+c[i:], binding)
		if i < len(c) {
			wantRefused("a cursor with a byte dropped", c[:i]+c[i+1:], binding)
		}
		// And b's base64url letter in place of each character in turn, the
		// tag's last one (which carries padding bits) included.
		letter := base64URLAlphabet[int(b)%len(base64URLAlphabet)]
		for j := range len(c) {
			if len(c) > 512 && j > 64 && j < len(c)-64 {
				continue // long cursors: both ends are enough
			}
			if c[j] != letter {
				wantRefused("a cursor with one character changed", c[:j]+string(letter)+c[j+1:], binding)
			}
		}
	})
}
