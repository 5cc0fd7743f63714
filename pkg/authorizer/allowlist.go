package authorizer

import (
	"net/netip"
	"net/url"
	"strings"

	"github.com/keyward/keyward/pkg/apikey"
)

// Allow-list refusals, as logged.
const (
	reasonIPNotAllowed     = "ip_not_allowed"
	reasonOriginNotAllowed = "origin_not_allowed"
	reasonOriginMissing    = "origin_missing"
)

// allowList is a key's allow-list parsed once per cached key. An entry that
// does not parse (the API never stores one) matches nothing, so a list whose
// entries are all unreadable refuses everything: it fails closed.
type allowList struct {
	ipsSet     bool
	prefixes   []netip.Prefix
	originsSet bool
	origins    []originPattern
}

// originPattern is https://host[:port] (exact host and port, 443 by default)
// or *.suffix (any https origin on a subdomain of suffix, any port).
type originPattern struct {
	host     string // exact host, or ".suffix" for a wildcard
	port     string
	wildcard bool
}

func compileAllowList(a apikey.AllowList) *allowList {
	l := &allowList{ipsSet: len(a.IPs) > 0, originsSet: len(a.Origins) > 0}
	for _, s := range a.IPs {
		if p, ok := parsePrefix(s); ok {
			l.prefixes = append(l.prefixes, p)
		}
	}
	for _, s := range a.Origins {
		if p, ok := parseOriginPattern(s); ok {
			l.origins = append(l.origins, p)
		}
	}
	return l
}

func parsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

func parseOriginPattern(s string) (originPattern, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if suffix, ok := strings.CutPrefix(s, "*."); ok {
		if suffix == "" || strings.ContainsAny(suffix, "/:*") {
			return originPattern{}, false
		}
		return originPattern{host: "." + suffix, wildcard: true}, true
	}
	host, port, ok := splitHTTPSOrigin(s)
	if !ok {
		return originPattern{}, false
	}
	return originPattern{host: host, port: port}, true
}

// splitHTTPSOrigin reads an https origin (or URL) and returns its lower-case
// host and its port (443 when absent). Any other scheme is refused.
func splitHTTPSOrigin(s string) (host, port string, ok bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.User != nil {
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

// check returns "" when a request from sourceIP with the given Origin and
// Referer header values may use the key, else the refusal reason. Origin
// wins over Referer when both are sent.
func (l *allowList) check(sourceIP, origin, referer string) string {
	if l.ipsSet && !l.ipAllowed(sourceIP) {
		return reasonIPNotAllowed
	}
	if !l.originsSet {
		return ""
	}
	from := origin
	if from == "" {
		from = referer
	}
	if from == "" {
		return reasonOriginMissing
	}
	host, port, ok := splitHTTPSOrigin(from)
	if !ok {
		return reasonOriginNotAllowed
	}
	for _, p := range l.origins {
		if p.wildcard && strings.HasSuffix(host, p.host) && len(host) > len(p.host) {
			return ""
		}
		if !p.wildcard && host == p.host && port == p.port {
			return ""
		}
	}
	return reasonOriginNotAllowed
}

func (l *allowList) ipAllowed(sourceIP string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(sourceIP))
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range l.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
