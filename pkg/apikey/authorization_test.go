package apikey

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

// basicFixture returns a key ID, a secret and the canonical base64 of
// "keyID:secret". Those 74 bytes encode with one "=" of padding, so the
// character before it has spare bits.
func basicFixture(t testing.TB) (id, secret, b64 string) {
	t.Helper()
	sec, err := NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testID, sec, base64.StdEncoding.EncodeToString([]byte(testID + ":" + sec))
}

// TestBasicHasExactlyOneSpelling: the base64 of a Basic credential must be
// canonical, so each credential has one spelling (one gateway cache entry).
func TestBasicHasExactlyOneSpelling(t *testing.T) {
	id, sec, enc := basicFixture(t)
	if gotID, gotSec, err := ParseBasic(enc); err != nil || gotID != id || gotSec != sec {
		t.Fatalf("canonical Basic refused: %v", err)
	}
	// The last character before the padding holds spare bits that must be zero.
	i := strings.IndexByte(enc, '=') - 1
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	v := strings.IndexByte(alphabet, enc[i])
	trailingBits := enc[:i] + string(alphabet[v|1]) + enc[i+1:]
	variants := map[string]string{
		"CRLFInside":       enc[:20] + "\r\n" + enc[20:],
		"LFInside":         enc[:20] + "\n" + enc[20:],
		"CRAtTheEnd":       enc + "\r",
		"LFAtTheEnd":       enc + "\n",
		"SpaceInside":      enc[:20] + " " + enc[20:],
		"TabInside":        enc[:20] + "\t" + enc[20:],
		"NoPadding":        strings.TrimRight(enc, "="),
		"OnePadMissing":    strings.TrimSuffix(enc, "="),
		"ExtraPadding":     enc + "====",
		"NonZeroSpareBits": trailingBits,
		"Empty":            "",
		"URLSafeCharacter": "-" + enc[1:],
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			if v == enc {
				t.Fatal("variant equals the canonical form")
			}
			if _, _, err := ParseBasic(v); err != ErrMalformed {
				t.Errorf("ParseBasic(%+q) err = %v, want ErrMalformed", v, err)
			}
			if _, _, err := ParseAuthorization("kw", "Basic "+v); err != ErrMalformed {
				t.Errorf("ParseAuthorization(Basic %+q) err = %v, want ErrMalformed", v, err)
			}
		})
	}
}

// TestAuthorizationCredentialsHoldNoWhiteSpace: only spaces and tabs around
// the whole header value (not part of it in HTTP) and spaces after the
// scheme are allowed; a token never has CR, LF or tabs in or after it.
func TestAuthorizationCredentialsHoldNoWhiteSpace(t *testing.T) {
	_, sec, enc := basicFixture(t)
	tok := FormatToken("kw", testID, sec)
	ok := []string{"Bearer " + tok, "bearer " + tok, " Bearer " + tok + "\t", "Bearer   " + tok, "Basic " + enc, "BASIC " + enc + " "}
	for _, h := range ok {
		if _, _, err := ParseAuthorization("kw", h); err != nil {
			t.Errorf("ParseAuthorization(%.10q…) err = %v, want accepted", h, err)
		}
	}
	bad := map[string]string{
		"BearerTrailingCRLF":   "Bearer " + tok + "\r\n",
		"BearerTrailingLF":     "Bearer " + tok + "\n",
		"BearerLeadingLF":      "\nBearer " + tok,
		"BearerTabSeparator":   "Bearer\t" + tok,
		"BearerNoBreakSpace":   "Bearer\u00a0" + tok,
		"BearerVerticalTab":    "Bearer " + tok + "\v",
		"BasicTrailingCRLF":    "Basic " + enc + "\r\n",
		"BasicTabSeparator":    "Basic\t" + enc,
		"BasicTabAfterSpace":   "Basic \t" + enc,
		"BearerTwoTokens":      "Bearer " + tok + " " + tok,
		"BearerTokenSplitByLF": "Bearer " + tok[:10] + "\n" + tok[10:],
	}
	for name, h := range bad {
		t.Run(name, func(t *testing.T) {
			if _, _, err := ParseAuthorization("kw", h); err != ErrMalformed {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}
