package apikey

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

const testID = "key_01JD5X6Y7Z8A9BCDEFGHJKMNPQ"

func TestTokenRoundTrip(t *testing.T) {
	secret, err := NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(secret), SecretLen; got != want {
		t.Fatalf("secret length = %d, want %d", got, want)
	}
	tok := FormatToken("kw", testID, secret)
	if !regexp.MustCompile(ScannerRegexp("kw")).MatchString(tok) {
		t.Fatalf("scanner regexp does not match the token")
	}
	id, sec, err := ParseToken("kw", tok)
	if err != nil {
		t.Fatal(err)
	}
	if id != testID || sec != secret {
		t.Fatalf("parsed (%s, <secret>) does not round-trip", id)
	}
	if h := Hint(tok); !strings.HasPrefix(h, "kw_01JD5X6") || !strings.HasSuffix(h, tok[len(tok)-4:]) || strings.Contains(h, secret) {
		t.Errorf("hint %q leaks or is misshaped", h)
	}
}

func TestSecretHas256Bits(t *testing.T) {
	// All-ones input is the largest value; it must still fit in 43 characters,
	// and two different inputs must give different secrets.
	max, _ := NewSecret(bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)))
	zero, _ := NewSecret(bytes.NewReader(make([]byte, 32)))
	if len(max) != SecretLen || len(zero) != SecretLen || max == zero {
		t.Fatalf("secrets %d/%d chars", len(max), len(zero))
	}
	if _, err := NewSecret(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("short randomness must fail")
	}
}

func TestMalformedTokensAreRefused(t *testing.T) {
	secret, _ := NewSecret(rand.Reader)
	good := FormatToken("kw", testID, secret)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := map[string]string{
		"Empty":             "",
		"WrongPrefix":       "xx" + good[2:],
		"TypoInSecret":      flip(good, 40),
		"TypoInID":          flip(good, 5),
		"TypoInChecksum":    flip(good, len(good)-1),
		"Truncated":         good[:len(good)-1],
		"Extended":          good + "a",
		"LowercaseULID":     "kw_" + strings.ToLower(good[3:29]) + good[29:],
		"MissingSeparator":  strings.Replace(good, "_", "-", 2),
		"NonBase62InSecret": good[:40] + "-" + good[41:],
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := ParseToken("kw", tok); err != ErrMalformed {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	secret, _ := NewSecret(rand.Reader)
	tok := FormatToken("kw", testID, secret)
	basic := base64.StdEncoding.EncodeToString([]byte(testID + ":" + secret))
	ok := []string{"Bearer " + tok, "bearer " + tok, "Basic " + basic, "  BASIC   " + basic + " "}
	for _, h := range ok {
		id, sec, err := ParseAuthorization("kw", h)
		if err != nil || id != testID || sec != secret {
			t.Errorf("header %.12q…: (%s, %v)", h, id, err)
		}
	}
	bad := []string{"", tok, "Bearer", "Token " + tok, "Basic !!!",
		"Basic " + base64.StdEncoding.EncodeToString([]byte(testID+secret)),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("key_x:"+secret)),
		"Basic " + base64.StdEncoding.EncodeToString([]byte(testID+":short")),
	}
	for _, h := range bad {
		if _, _, err := ParseAuthorization("kw", h); err != ErrMalformed {
			t.Errorf("header %.14q…: err = %v, want ErrMalformed", h, err)
		}
	}
}

func TestScopes(t *testing.T) {
	tests := []struct {
		held []string
		want string
		has  bool
	}{
		{[]string{"keys:admin"}, "keys:write", true},
		{[]string{"keys:admin"}, "audit:read", true},
		{[]string{"keys:admin"}, "recordings:read", false},
		{[]string{"keys:write"}, "keys:read", false},
		{[]string{"recordings:*"}, "recordings:read", true},
		{[]string{"recordings:*"}, "recordings:read:raw", true},
		{[]string{"recordings:*:raw"}, "recordings:calls:raw", true},
		{[]string{"recordings:*:raw"}, "recordings:calls:meta", false},
		{[]string{"recordings"}, "recordings:read", false},
		{[]string{"recordings:read"}, "recordings", false},
		{[]string{"keys:*"}, "keys:admin", false},
		{[]string{"keys:*:*"}, "keys:admin", false},
		{[]string{"keys:*"}, "keys:revoke", true},
	}
	for _, tt := range tests {
		if got := HasScope(tt.held, tt.want); got != tt.has {
			t.Errorf("HasScope(%v, %q) = %v, want %v", tt.held, tt.want, got, tt.has)
		}
	}
	grants := []struct {
		held []string
		want string
		ok   bool
	}{
		{[]string{"keys:write"}, "keys:admin", false},
		{[]string{"keys:write"}, "recordings:read", false},
		{[]string{"keys:write", "recordings:read"}, "recordings:read", true},
		{[]string{"keys:write"}, "keys:write", true},
		{[]string{"keys:admin"}, "recordings:read", true},
		{[]string{"keys:admin"}, "keys:admin", false},
		{[]string{"keys:*"}, "keys:admin", false},
		{[]string{"keys:*"}, "keys:write", true},
		{[]string{"keys:admin"}, "keys:*", true},
		{[]string{"keys:admin"}, "tenants:act", false},
		{[]string{"keys:admin"}, "actors:assert", false},
		{[]string{"tenants:*"}, "tenants:act", true},
		{[]string{"actors:assert"}, "actors:assert", true},
	}
	for _, g := range grants {
		if got := CanGrant(g.held, g.want); got != g.ok {
			t.Errorf("CanGrant(%v, %q) = %v, want %v", g.held, g.want, got, g.ok)
		}
	}
}
