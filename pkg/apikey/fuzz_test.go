package apikey

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"
)

// FuzzNameKey checks name normalisation: NameKey is idempotent and
// deterministic; a valid name's displayed form is valid again, unchanged,
// with the same NameKey, which fits DynamoDB keys; a name is refused the same
// way every time, and always when it holds a control or format character.
func FuzzNameKey(f *testing.F) {
	for _, s := range []string{
		"Payroll", "payroll\u200b", "\u0440ayroll", "Payroll\u202e", "caf\u00e9", "cafe\u0301",
		"\uff30\uff41\uff59\uff52\uff4f\uff4c\uff4c", "Payr0ll", "%", "\ufdfa", "\u3164", "\ufe0f",
		"\ub300\ud55c\ubbfc\uad6d", "  Pay \u00a0 roll  ", "\x00", "\xff", "I\u0307stanbul", "\u1e9e",
		"\uff8a\uff9f", "Ko\u0308ln \u2163",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		k := text.NameKey(name)
		if k2 := text.NameKey(k); k2 != k {
			t.Fatalf("NameKey not idempotent: %+q -> %+q -> %+q", name, k, k2)
		}
		if text.NameKey(name) != k {
			t.Fatalf("text.NameKey(%+q) is not deterministic", name)
		}
		display, err := validateName(text, name)
		if err != nil {
			e, ok := AsError(err)
			if !ok || e.Code != ECodeInvalid || e.Field != "name" {
				t.Fatalf("validateName(text, %+q) err = %v, want invalid_request naming name", name, err)
			}
			if _, again := validateName(text, name); again == nil || again.Error() != err.Error() {
				t.Fatalf("validateName(text, %+q) refused with %v, then %v", name, err, again)
			}
			return
		}
		for _, r := range display {
			if badRune(r, false) {
				t.Fatalf("validateName(text, %+q) accepted U+%04X", name, r)
			}
		}
		if n := utf8.RuneCountInString(display); n == 0 || n > MaxNameLen {
			t.Fatalf("validateName(text, %+q) accepted %d characters", name, n)
		}
		if again, err := validateName(text, display); err != nil || again != display {
			t.Fatalf("displayed name %+q is not stable: %+q, %v", display, again, err)
		}
		if dk := text.NameKey(display); dk != k {
			t.Fatalf("text.NameKey(displayed %+q) = %+q, text.NameKey(typed %+q) = %+q", display, dk, name, k)
		}
		if k == "" || len(k) > MaxNameKeyBytes {
			t.Fatalf("valid name %+q has a %d-byte key", name, len(k))
		}
	})
}

// FuzzParseToken checks that ParseToken never panics, that what it accepts
// is exactly what FormatToken writes for the parsed parts (one spelling per
// token), and that FormatToken's tokens round-trip.
func FuzzParseToken(f *testing.F) {
	sec := strings.Repeat("A", SecretLen)
	good := FormatToken("kw", testID, sec)
	f.Add(good, []byte("0123456789abcdef"), bytes.Repeat([]byte{0xff}, 32), "kw")
	f.Add(good[:len(good)-1]+"x", []byte{}, []byte{}, "acme2")
	f.Add("kw_"+strings.ToLower(good[3:]), []byte{1}, []byte{2}, "")
	f.Add(good+"\n", make([]byte, 16), make([]byte, 32), "k")
	f.Fuzz(func(t *testing.T, token string, id, secret []byte, prefix string) {
		if !ValidPrefix(prefix) {
			prefix = "kw"
		}
		if keyID, s, err := ParseToken(prefix, token); err == nil {
			if !ValidKeyID(keyID) || !isSecret(s) {
				t.Fatalf("ParseToken(%q) gave an invalid ID or secret", token)
			}
			if again := FormatToken(prefix, keyID, s); again != token {
				t.Fatalf("ParseToken accepted %q, which FormatToken writes as %q", token, again)
			}
		}
		var u ulid.ULID
		copy(u[:], id)
		keyID := KeyIDPrefix + u.String()
		s, err := NewSecret(bytes.NewReader(append(bytes.Clone(secret), make([]byte, secretBytes)...)))
		if err != nil {
			t.Fatal(err)
		}
		tok := FormatToken(prefix, keyID, s)
		gotID, gotSecret, err := ParseToken(prefix, tok)
		if err != nil || gotID != keyID || gotSecret != s {
			t.Fatalf("FormatToken(%s, %s, <secret>) does not round-trip: %v", prefix, keyID, err)
		}
	})
}

// FuzzParseAuthorization checks that header parsing never panics and that
// accepted credentials have exactly one spelling: a Basic credential
// re-encodes to the exact base64 sent, a Bearer token re-formats to the exact
// token sent, and neither holds white space.
func FuzzParseAuthorization(f *testing.F) {
	sec := strings.Repeat("b", SecretLen)
	tok := FormatToken("kw", testID, sec)
	basic := base64.StdEncoding.EncodeToString([]byte(testID + ":" + sec))
	for _, h := range []string{
		"Bearer " + tok, "bearer  " + tok, "Basic " + basic, " BASIC " + basic + "\t",
		"Basic " + basic[:20] + "\r\n" + basic[20:], "Basic " + strings.TrimRight(basic, "="),
		"Bearer " + tok + "\r\n", "Bearer\t" + tok, "Token " + tok, "", "Basic", "Basic =",
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		keyID, secret, err := ParseAuthorization("kw", header)
		if err != nil {
			if err != ErrMalformed {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			return
		}
		scheme, value, _ := strings.Cut(strings.Trim(header, " \t"), " ")
		value = strings.TrimLeft(value, " ")
		if strings.ContainsAny(value, " \t\r\n\v\f") {
			t.Fatalf("accepted credentials with white space: %q", header)
		}
		switch {
		case strings.EqualFold(scheme, "basic"):
			if again := base64.StdEncoding.EncodeToString([]byte(keyID + ":" + secret)); again != value {
				t.Fatalf("Basic %q accepted; it re-encodes as %q", value, again)
			}
		case strings.EqualFold(scheme, "bearer"):
			if again := FormatToken("kw", keyID, secret); again != value {
				t.Fatalf("Bearer %q accepted; it re-formats as %q", value, again)
			}
		default:
			t.Fatalf("scheme %q accepted", scheme)
		}
	})
}
