package apikey

import (
	"slices"
	"testing"
)

// TestAllowListTrickyForms checks that what create and edit store for an
// entry is the form the authorizer matches requests against.
func TestAllowListTrickyForms(t *testing.T) {
	for _, c := range []struct {
		name   string
		ips    []string
		stored []string // nil: refused
		allow  []string // source addresses let in
		refuse []string // source addresses kept out
	}{
		{"IPv4MappedAddressIsStoredAsIPv4", []string{"::ffff:10.0.0.1"}, []string{"10.0.0.1/32"},
			[]string{"10.0.0.1", "::ffff:10.0.0.1"}, []string{"10.0.0.2", "::1"}},
		{"IPv4MappedPrefixIsStoredAsIPv4", []string{"::ffff:10.0.0.0/104"}, []string{"10.0.0.0/8"},
			[]string{"10.9.9.9", "::ffff:10.9.9.9"}, []string{"11.0.0.1"}},
		{"HostBitsAreMasked", []string{"10.1.2.3/8", "2001:DB8::1/32"}, []string{"10.0.0.0/8", "2001:db8::/32"},
			[]string{"10.200.0.1", "2001:db8:ffff::1"}, []string{"2001:db9::1"}},
		{"ZoneOnAnAddressIsRefused", []string{"fe80::1%eth0"}, nil, nil, nil},
		{"ZoneOnAPrefixIsRefused", []string{"fe80::%eth0/64"}, nil, nil, nil},
		{"ZoneOnTheSourceIsIgnored", []string{"fe80::/64"}, []string{"fe80::/64"},
			[]string{"fe80::1%eth0", "fe80::1"}, []string{"fe81::1"}},
		{"NotAnAddressIsRefused", []string{"10.0.0.256"}, nil, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := normalizeAllowList(text, AllowList{IPs: c.ips})
			if c.stored == nil {
				if e, ok := AsError(err); !ok || e.Field != "allowList.ips[0]" {
					t.Fatalf("%q accepted as %q (%v), want invalid_request on allowList.ips[0]", c.ips, got.IPs, err)
				}
				return
			}
			if err != nil || !slices.Equal(got.IPs, c.stored) {
				t.Fatalf("%q stored as %q (%v), want %q", c.ips, got.IPs, err, c.stored)
			}
			m := NewAllowMatcher(got)
			for _, a := range c.allow {
				if r := m.Check(a, "", ""); r != "" {
					t.Errorf("source %s refused (%s)", a, r)
				}
			}
			for _, a := range c.refuse {
				if r := m.Check(a, "", ""); r != ReasonIPNotAllowed {
					t.Errorf("source %s: %q, want %s", a, r, ReasonIPNotAllowed)
				}
			}
		})
	}
}

func TestOriginTrickyForms(t *testing.T) {
	for _, c := range []struct {
		name    string
		pattern string
		stored  string   // "": refused
		allow   []string // Origin values let in
		refuse  []string // Origin values kept out
	}{
		{"UpperCaseIsLowered", "HTTPS://Example.COM", "https://example.com",
			[]string{"https://EXAMPLE.com", "https://example.com"}, []string{"http://example.com"}},
		{"DefaultPortIsDropped", "https://example.com:443", "https://example.com",
			[]string{"https://example.com", "https://example.com:443"}, []string{"https://example.com:8443"}},
		{"OtherPortIsKept", "https://example.com:8443", "https://example.com:8443",
			[]string{"https://example.com:8443"}, []string{"https://example.com"}},
		{"PortWithLeadingZeroIsRefused", "https://example.com:0443", "", nil, nil},
		{"TrailingDotIsRefused", "https://example.com.", "", nil, nil},
		{"TrailingDotOnWildcardIsRefused", "*.example.com.", "", nil, nil},
		{"TrailingDotOnRequestIsAnotherOrigin", "https://example.com", "https://example.com",
			nil, []string{"https://example.com."}},
		{"UserInfoIsRefused", "https://user@example.com", "", nil, nil},
		{"PasswordIsRefused", "https://user:pw@example.com", "", nil, nil},
		{"UserInfoOnRequestIsRefused", "https://example.com", "https://example.com",
			nil, []string{"https://user@example.com"}},
		{"PathIsRefused", "https://example.com/", "", nil, nil},
		{"QueryIsRefused", "https://example.com?", "", nil, nil},
		{"PlainHTTPIsRefused", "http://example.com", "", nil, nil},
		{"IDNIsStoredInPunycode", "https://Bücher.example", "https://xn--bcher-kva.example",
			[]string{"https://xn--bcher-kva.example"}, []string{"https://bucher.example"}},
		{"PunycodeIsKept", "https://XN--BCHER-KVA.example", "https://xn--bcher-kva.example",
			[]string{"https://xn--bcher-kva.example"}, nil},
		{"InvalidIDNIsRefused", "https://a\u200db.example", "", nil, nil},
		{"WildcardIDNIsStoredInPunycode", "*.bücher.example", "*.xn--bcher-kva.example",
			[]string{"https://shop.xn--bcher-kva.example:8443"}, []string{"https://xn--bcher-kva.example"}},
		{"WildcardNamesSubdomainsOnly", "*.Example.com", "*.example.com",
			[]string{"https://a.example.com", "https://a.b.example.com:8443"},
			[]string{"https://example.com", "https://evilexample.com", "https://evil.com\\.example.com"}},
		{"WildcardOnATopLevelDomainIsRefused", "*.com", "", nil, nil},
		{"WildcardWithAPortIsRefused", "*.example.com:8443", "", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := normalizeAllowList(text, AllowList{Origins: []string{c.pattern}})
			if c.stored == "" {
				if e, ok := AsError(err); !ok || e.Field != "allowList.origins[0]" {
					t.Fatalf("%q accepted as %q (%v), want invalid_request on allowList.origins[0]", c.pattern, got.Origins, err)
				}
				return
			}
			if err != nil || !slices.Equal(got.Origins, []string{c.stored}) {
				t.Fatalf("%q stored as %q (%v), want %q", c.pattern, got.Origins, err, c.stored)
			}
			// A caller's own list is stored, so ASCII: compare the ASCII forms.
			if err := checkAllowListWithin(Principal{AllowList: AllowList{Origins: []string{c.pattern}}}, got); isASCII(c.pattern) && err != nil {
				t.Errorf("the stored form is not within the submitted one: %v", err)
			}
			m := NewAllowMatcher(got)
			for _, o := range c.allow {
				if r := m.Check("", o, ""); r != "" {
					t.Errorf("Origin %s refused (%s)", o, r)
				}
				if r := m.Check("", "", o+"/page?q=1"); r != "" {
					t.Errorf("Referer %s/page refused (%s)", o, r)
				}
			}
			for _, o := range c.refuse {
				if r := m.Check("", o, ""); r != ReasonOriginNotAllowed {
					t.Errorf("Origin %s: %q, want %s", o, r, ReasonOriginNotAllowed)
				}
			}
		})
	}
}

func TestOriginWithin(t *testing.T) {
	for _, c := range []struct {
		inner, outer string
		want         bool
	}{
		{"https://example.com", "https://example.com:443", true},
		{"https://a.example.com:8443", "*.example.com", true},
		{"*.a.example.com", "*.example.com", true},
		{"*.example.com", "*.example.com", true},
		{"https://example.com", "*.example.com", false},
		{"*.example.com", "*.a.example.com", false},
		{"https://example.com:8443", "https://example.com", false},
	} {
		if got := originWithin(c.inner, []string{c.outer}); got != c.want {
			t.Errorf("originWithin(%q, %q) = %v, want %v", c.inner, c.outer, got, c.want)
		}
	}
}
