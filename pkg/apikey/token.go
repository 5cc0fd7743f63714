package apikey

import (
	"encoding/base64"
	"errors"
	"hash/crc32"
	"io"
	"math/big"
	"regexp"
	"strings"
)

// Token format: <prefix>_<ULID>_<secret><checksum>
//
//	prefix    TokenPrefix parameter, ^[a-z][a-z0-9]{0,15}$ ("kw" by default)
//	ULID      26 Crockford base32 characters; the key ID is "key_" + ULID
//	secret    43 base62 characters: 256 bits from crypto/rand
//	checksum  6 base62 characters: CRC32 (IEEE) of everything before it
//
// The checksum lets the authorizer reject typos without a database call and
// lets secret scanners confirm a match (as GitHub's tokens do).
const (
	KeyIDPrefix    = "key_"
	ulidLen        = 26
	SecretLen      = 43
	checksumLen    = 6
	secretBytes    = 32
	base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// isULID reports whether s is 26 Crockford base32 characters,
// ^[0-9A-HJKMNP-TV-Z]{26}$. Tokens are checked on every authorized request,
// so the checks are loops rather than regular expressions.
func isULID(s string) bool {
	if len(s) != ulidLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U') {
			return false
		}
	}
	return true
}

// isSecret reports whether s is a secret's 43 base62 characters, ^[0-9A-Za-z]{43}$.
func isSecret(s string) bool {
	if len(s) != SecretLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// ErrMalformed is returned for credentials that cannot be a keyward token.
var ErrMalformed = errors.New("malformed credentials")

// ValidPrefix reports whether p can be a token prefix.
func ValidPrefix(p string) bool { return prefixRE.MatchString(p) }

// ScannerRegexp returns the regular expression secret scanners use to find
// tokens with the given prefix.
func ScannerRegexp(prefix string) string {
	return `\b` + regexp.QuoteMeta(prefix) + `_[0-9A-HJKMNP-TV-Z]{26}_[0-9A-Za-z]{49}\b`
}

// ValidKeyID reports whether id has the form of a key ID.
func ValidKeyID(id string) bool {
	return strings.HasPrefix(id, KeyIDPrefix) && isULID(id[len(KeyIDPrefix):])
}

// NewSecret reads 256 bits from r and encodes them as 43 base62 characters.
func NewSecret(r io.Reader) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return base62(new(big.Int).SetBytes(b), SecretLen), nil
}

// FormatToken builds the token for a key ID and secret.
func FormatToken(prefix, keyID, secret string) string {
	body := prefix + "_" + strings.TrimPrefix(keyID, KeyIDPrefix) + "_" + secret
	return body + checksum(body)
}

// ParseToken splits a token into key ID and secret, checking its shape,
// prefix and checksum. It returns ErrMalformed for anything else.
func ParseToken(prefix, token string) (keyID, secret string, err error) {
	want := len(prefix) + 1 + ulidLen + 1 + SecretLen + checksumLen
	if len(token) != want || !strings.HasPrefix(token, prefix) || token[len(prefix)] != '_' {
		return "", "", ErrMalformed
	}
	rest := token[len(prefix)+1:]
	id, rest := rest[:ulidLen], rest[ulidLen:]
	if rest[0] != '_' || !isULID(id) {
		return "", "", ErrMalformed
	}
	secret, sum := rest[1:1+SecretLen], rest[1+SecretLen:]
	if !isSecret(secret) {
		return "", "", ErrMalformed
	}
	if sum != checksum(token[:len(token)-checksumLen]) {
		return "", "", ErrMalformed
	}
	return KeyIDPrefix + id, secret, nil
}

// ParseBasic decodes the value of a Basic credential, base64(keyID:secret).
// The base64 must be canonical (standard alphabet, padded, no white space or
// line breaks, zero trailing bits), so the credentials have exactly one
// spelling (each spelling would be its own gateway cache entry).
func ParseBasic(value string) (keyID, secret string, err error) {
	// Go's decoder skips CR and LF even when strict; re-encoding refuses
	// them, and any other spelling of the same bytes.
	raw, err := base64.StdEncoding.Strict().DecodeString(value)
	if err != nil || base64.StdEncoding.EncodeToString(raw) != value {
		return "", "", ErrMalformed
	}
	id, sec, ok := strings.Cut(string(raw), ":")
	if !ok || !ValidKeyID(id) || !isSecret(sec) {
		return "", "", ErrMalformed
	}
	return id, sec, nil
}

// ParseAuthorization parses an Authorization header value: "Bearer <token>"
// or "Basic base64(keyID:secret)". As HTTP defines it, the scheme is
// case-insensitive and followed by one or more spaces; the credentials after
// them hold no white space at all (no tab, CR or LF). Spaces and tabs around
// the whole value, which HTTP does not count as part of it, are ignored.
func ParseAuthorization(prefix, header string) (keyID, secret string, err error) {
	scheme, value, ok := strings.Cut(strings.Trim(header, " \t"), " ")
	if !ok {
		return "", "", ErrMalformed
	}
	value = strings.TrimLeft(value, " ")
	switch {
	case strings.EqualFold(scheme, "bearer"):
		return ParseToken(prefix, value)
	case strings.EqualFold(scheme, "basic"):
		return ParseBasic(value)
	}
	return "", "", ErrMalformed
}

// Hint is the part of a token safe to show in listings: prefix, the start of
// the ID and the last four characters.
func Hint(token string) string {
	if len(token) < 16 {
		return ""
	}
	i := strings.IndexByte(token, '_')
	if i < 0 || i+9 > len(token) {
		return ""
	}
	return token[:i+9] + "…" + token[len(token)-4:]
}

// checksum is the CRC32 (IEEE) of body in 6 base62 characters (62^6 > 2^32,
// so the encoding is exact).
func checksum(body string) string {
	n := crc32.ChecksumIEEE([]byte(body))
	var out [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62Alphabet[n%62]
		n /= 62
	}
	return string(out[:])
}

// base62 encodes n in exactly width characters, left-padded with zeros.
func base62(n *big.Int, width int) string {
	out := make([]byte, width)
	base := big.NewInt(62)
	mod := new(big.Int)
	n = new(big.Int).Set(n)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62Alphabet[mod.Int64()]
	}
	return string(out)
}
