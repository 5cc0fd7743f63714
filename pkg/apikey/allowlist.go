package apikey

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Allow-list refusals, as the authorizer logs them.
const (
	ReasonIPNotAllowed     = "ip_not_allowed"
	ReasonOriginNotAllowed = "origin_not_allowed"
	ReasonOriginMissing    = "origin_missing"
)

// AllowMatcher is an allow-list parsed once. Create and edit store the
// canonical form of the same parse the authorizer enforces, so what is
// accepted is exactly what is matched. An entry that does not parse (the API
// never stores one) matches nothing, so a list whose entries are all
// unreadable refuses everything: it fails closed.
type AllowMatcher struct {
	ipsSet     bool
	prefixes   []netip.Prefix
	originsSet bool
	origins    []originPattern
}

// originPattern is https://host[:port] (exact host and port, 443 by default)
// or *.suffix (any https origin on a subdomain of suffix, any port). Hosts
// are lower-case ASCII: an internationalised name is held in its punycode
// (xn--) form, which is how browsers send it.
type originPattern struct {
	host     string // the exact host, or the suffix of a wildcard
	port     string // decimal, no leading zero; "" for a wildcard
	wildcard bool
}

// NewAllowMatcher parses a stored allow-list for matching.
func NewAllowMatcher(a AllowList) *AllowMatcher {
	m := &AllowMatcher{ipsSet: len(a.IPs) > 0, originsSet: len(a.Origins) > 0}
	for _, s := range a.IPs {
		if p, err := parseCIDR(s); err == nil {
			m.prefixes = append(m.prefixes, p)
		}
	}
	for _, s := range a.Origins {
		if p, ok := parseOriginPattern(s); ok {
			m.origins = append(m.origins, p)
		}
	}
	return m
}

// Check returns "" when a request from sourceIP with the given Origin and
// Referer header values may use the key, else the refusal reason (one of
// the Reason constants). Origin wins over Referer when both are sent.
func (m *AllowMatcher) Check(sourceIP, origin, referer string) string {
	if m.ipsSet && !m.ipAllowed(sourceIP) {
		return ReasonIPNotAllowed
	}
	if !m.originsSet {
		return ""
	}
	from := origin
	if from == "" {
		from = referer
	}
	if from == "" {
		return ReasonOriginMissing
	}
	host, port, ok := requestOrigin(from)
	if !ok {
		return ReasonOriginNotAllowed
	}
	for _, p := range m.origins {
		if p.matches(host, port) {
			return ""
		}
	}
	return ReasonOriginNotAllowed
}

// ipAllowed compares the source address in IPv4 form when it is
// IPv4-mapped, and without a zone.
func (m *AllowMatcher) ipAllowed(sourceIP string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(sourceIP))
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range m.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// errZone refuses an address with a zone (fe80::1%eth0): a zone names an
// interface of the machine that wrote it, never a remote client.
var errZone = errors.New("an address with a zone cannot be matched")

// parseCIDR reads an IP allow-list entry, a CIDR or a bare address (a /32 or
// /128), masked. IPv4-mapped IPv6 forms become IPv4 (::ffff:10.0.0.1 is
// 10.0.0.1/32, ::ffff:10.0.0.0/104 is 10.0.0.0/8): the authorizer compares an
// IPv4 client in IPv4 form. Zones are refused.
func parseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errZone
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// NormalizeOrigin checks a stored origin pattern, https://host[:port] or
// *.suffix, and returns its canonical form: lower case, no :443. Hosts must
// be ASCII, as stored patterns are (create and edit convert internationalised
// hosts to punycode first).
func NormalizeOrigin(s string) (string, bool) {
	return normalizeOrigin(s, nil)
}

// normalizeOrigin is NormalizeOrigin with toASCII converting a non-ASCII host
// (nil refuses one).
func normalizeOrigin(s string, toASCII func(string) (string, bool)) (string, bool) {
	p, ok := parseOriginPatternWith(s, toASCII)
	if !ok {
		return "", false
	}
	return p.String(), true
}

// parseOriginPattern reads a stored origin pattern, whose host is ASCII.
func parseOriginPattern(s string) (originPattern, bool) {
	return parseOriginPatternWith(s, nil)
}

// parseOriginPatternWith reads a stored or submitted origin pattern; toASCII
// converts a non-ASCII host (nil refuses one). An exact pattern is an origin
// only: no user info, path, query or fragment. Submitted and stored patterns
// go through this one parse, so what is accepted is exactly what is matched.
func parseOriginPatternWith(s string, toASCII func(string) (string, bool)) (originPattern, bool) {
	s = strings.TrimSpace(s)
	if suffix, ok := strings.CutPrefix(s, "*."); ok {
		host, ok := patternHost(suffix, toASCII)
		return originPattern{host: host, wildcard: true}, ok && strings.Contains(host, ".")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Path != "" ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(u.Host, ":") {
		return originPattern{}, false
	}
	host, ok := patternHost(u.Hostname(), toASCII)
	if !ok {
		return originPattern{}, false
	}
	port := "443"
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return originPattern{}, false
		}
		port = p
	}
	return originPattern{host: host, port: port}, true
}

// patternHost is a pattern's host in canonical form: lower-case letters,
// digits and hyphens in dot-separated labels, no trailing dot. A name with
// non-ASCII letters is converted by toASCII first (nil refuses it).
func patternHost(h string, toASCII func(string) (string, bool)) (string, bool) {
	if !isASCII(h) {
		if toASCII == nil {
			return "", false
		}
		a, ok := toASCII(h)
		if !ok {
			return "", false
		}
		h = a
	}
	h = strings.ToLower(h)
	return h, validHost(h)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !labelRE.MatchString(l) {
			return false
		}
	}
	return true
}

// String is the pattern's canonical stored form.
func (p originPattern) String() string {
	switch {
	case p.wildcard:
		return "*." + p.host
	case p.port == "443":
		return "https://" + p.host
	}
	return "https://" + p.host + ":" + p.port
}

// matches reports whether a request origin's host and port are named by p.
func (p originPattern) matches(host, port string) bool {
	if p.wildcard {
		return strings.HasSuffix(host, "."+p.host)
	}
	return host == p.host && port == p.port
}

// within reports whether every origin p names is named by outer: the same
// pattern, or a wildcard whose suffix p's host sits below (*.a.example.com
// sits inside *.example.com; *.example.com does not).
func (p originPattern) within(outer originPattern) bool {
	if p == outer {
		return true
	}
	return outer.wildcard && strings.HasSuffix(p.host, "."+outer.host)
}

// requestOrigin reads an Origin or Referer header: an https URL without user
// info. It returns the lower-case host and the port as sent (443 when
// absent). Browsers send hosts in ASCII, so nothing is converted.
func requestOrigin(s string) (host, port string, ok bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return "", "", false
	}
	host, port = strings.ToLower(u.Hostname()), u.Port()
	if host == "" {
		return "", "", false
	}
	if port == "" {
		port = "443"
	}
	return host, port, true
}
