package apikey

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what a key holds.
const (
	MaxNameLen        = 128
	MaxDescriptionLen = 1024
	MaxScopes         = 64
	MaxCIDRs          = 64
	MaxOrigins        = 64
	MaxMetadata       = 32
	MaxMetadataKey    = 64
	MaxMetadataValue  = 512
	MaxGracePeriod    = 604800
	MaxBatchRevoke    = 100
	MaxListLimit      = 100
	DefaultListLimit  = 50
)

// MaxNameKeyBytes bounds a name's NameKey, which is part of DynamoDB keys:
// the name index's sort key, NameKey + "#" + key ID, must fit in 1024 bytes.
// Text of most scripts stays under 6 bytes a character (Korean, whose
// skeleton splits some syllables, the most), so 128 characters fit.
const MaxNameKeyBytes = 960

var (
	typeRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	tenantRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	labelRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// ValidTenantID reports whether t is a well-formed tenant ID.
func ValidTenantID(t string) bool { return tenantRE.MatchString(t) }

// MaxActorLen bounds the person a key asserts (Keyward-Actor).
const MaxActorLen = 200

// ValidateActor checks an asserted person: trimmed, 1 to MaxActorLen
// characters, no control, format or invisible characters, and none of the
// actors keyward writes itself (a key ID, system…, operator:…, unknown), so
// an audit record's actor never passes for another key or for keyward.
// Errors name field.
func ValidateActor(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" || utf8.RuneCountInString(v) > MaxActorLen {
		return "", Invalid(field, "must be 1 to %d characters", MaxActorLen)
	}
	if err := checkText(field, v, false); err != nil {
		return "", err
	}
	lower := strings.ToLower(v)
	if ValidKeyID(v) || strings.HasPrefix(lower, KeyIDPrefix) || strings.HasPrefix(lower, "system") ||
		strings.HasPrefix(lower, "operator:") || lower == "unknown" {
		return "", Invalid(field, "must name a person (key IDs, system…, operator:… and unknown are keyward's own actors)")
	}
	return v, nil
}

// ValidType reports whether t is a well-formed key type.
func ValidType(t string) bool { return typeRE.MatchString(t) }

// Text rule: names, descriptions, metadata keys and metadata values never
// hold control characters (Unicode Cc: NUL, ESC, CR, LF...), format
// characters (Cf: zero-width characters, bidi controls, the BOM...), line or
// paragraph separators, U+FFFD or invalid UTF-8. Only a description may hold
// a line feed or a tab: a lone carriage return rewrites a terminal line, and
// JSON clients send a newline as \n.
func badRune(r rune, multiline bool) bool {
	if multiline && (r == '\n' || r == '\t') {
		return false
	}
	return r == utf8.RuneError || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Cs)
}

// textProblem says how s breaks the text rule, or "" when it does not.
func textProblem(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		if badRune(r, multiline) {
			return fmt.Sprintf("must not contain U+%04X (control, format and invisible characters are refused)", r)
		}
	}
	return ""
}

// checkText applies the text rule to s, naming field.
func checkText(field, s string, multiline bool) error {
	if p := textProblem(s, multiline); p != "" {
		return Invalid(field, "%s", p)
	}
	return nil
}

// hasControl reports whether s breaks the text rule (allowNewlines: as a
// description may, with line feeds and tabs).
func hasControl(s string, allowNewlines bool) bool {
	return textProblem(s, allowNewlines) != ""
}

// validateName checks a name and returns it as displayed: trimmed and in
// NFC, so the same text typed as composed or decomposed characters is stored
// alike. Its NameKey must be non-empty and fit a DynamoDB key.
func validateName(text Unicode, name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", Invalid("name", "must be valid UTF-8")
	}
	name = strings.TrimSpace(name)
	if err := checkText("name", name, false); err != nil {
		return "", err
	}
	name = text.NFC(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", Invalid("name", "is required (1-%d characters)", MaxNameLen)
	case n > MaxNameLen:
		return "", Invalid("name", "must be at most %d characters", MaxNameLen)
	}
	switch k := text.NameKey(name); {
	case k == "":
		return "", Invalid("name", "must contain a visible character")
	case len(k) > MaxNameKeyBytes:
		return "", Invalid("name", "is too long once normalised for comparison")
	}
	return name, nil
}

func validateDescription(d string) error {
	if err := checkText("description", d, true); err != nil {
		return err
	}
	if utf8.RuneCountInString(d) > MaxDescriptionLen {
		return Invalid("description", "must be at most %d characters", MaxDescriptionLen)
	}
	return nil
}

func validateType(t string, allowed []string) error {
	if !typeRE.MatchString(t) {
		return Invalid("type", "must match ^[a-z][a-z0-9_-]{0,31}$")
	}
	if len(allowed) > 0 && !slices.Contains(allowed, t) {
		return Invalid("type", "must be one of %s", strings.Join(allowed, ", "))
	}
	return nil
}

func validateScopes(scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return nil, Invalid("scopes", "at least one scope is required")
	}
	if len(scopes) > MaxScopes {
		return nil, Invalid("scopes", "at most %d scopes", MaxScopes)
	}
	out := make([]string, 0, len(scopes))
	for i, s := range scopes {
		if !ValidScope(s) {
			return nil, Invalid("scopes["+strconv.Itoa(i)+"]", "%q is not a valid scope (^[a-z][a-z0-9_.-]*(:[a-z0-9_.*-]+)*$)", s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// normalizeAllowList validates and canonicalises an allow-list: CIDRs masked
// (a bare address becomes /32 or /128), origins lower-cased with
// internationalised hosts in their ASCII form.
func normalizeAllowList(text Unicode, a AllowList) (AllowList, error) {
	if len(a.IPs) > MaxCIDRs {
		return a, Invalid("allowList.ips", "at most %d entries", MaxCIDRs)
	}
	if len(a.Origins) > MaxOrigins {
		return a, Invalid("allowList.origins", "at most %d entries", MaxOrigins)
	}
	out := AllowList{IPs: []string{}, Origins: []string{}}
	for i, s := range a.IPs {
		p, err := parseCIDR(s)
		if err != nil {
			return a, Invalid("allowList.ips["+strconv.Itoa(i)+"]", "%q is not an IPv4 or IPv6 CIDR", s)
		}
		if v := p.String(); !slices.Contains(out.IPs, v) {
			out.IPs = append(out.IPs, v)
		}
	}
	for i, s := range a.Origins {
		o, ok := normalizeOrigin(s, text.HostToASCII)
		if !ok {
			return a, Invalid("allowList.origins["+strconv.Itoa(i)+"]", "%q must be https://host[:port] or *.suffix", s)
		}
		if !slices.Contains(out.Origins, o) {
			out.Origins = append(out.Origins, o)
		}
	}
	return out, nil
}

// validateMetadata checks entries in key order, so the error is the same
// whatever the map's iteration order.
func validateMetadata(m map[string]string) error {
	if len(m) > MaxMetadata {
		return Invalid("metadata", "at most %d entries", MaxMetadata)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == "" || utf8.RuneCountInString(k) > MaxMetadataKey {
			return Invalid("metadata", "key %q must be 1-%d characters", truncate(k, 70), MaxMetadataKey)
		}
		if p := textProblem(k, false); p != "" {
			return Invalid("metadata", "key %q %s", truncate(k, 70), p)
		}
		v := m[k]
		if err := checkText("metadata."+k, v, false); err != nil {
			return err
		}
		if utf8.RuneCountInString(v) > MaxMetadataValue {
			return Invalid("metadata."+k, "must be at most %d characters", MaxMetadataValue)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func parseExpiresAt(s string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, Invalid("expiresAt", "must be an RFC 3339 time such as 2030-01-02T15:04:05Z")
	}
	t = t.UTC().Truncate(time.Millisecond)
	if !t.After(now) {
		return time.Time{}, Invalid("expiresAt", "must be in the future")
	}
	return t, nil
}
