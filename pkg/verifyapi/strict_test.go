package verifyapi_test

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/verifyapi"
)

// TestVerifyRefusesNonCanonicalBasic: /v1/verify parses a header value as
// the authorizer does, so a Basic credential that is not strict base64 is
// MALFORMED, not VALID.
func TestVerifyRefusesNonCanonicalBasic(t *testing.T) {
	s := newStack(t)
	iss := s.issue(t, "acme", apikey.CreateInput{})
	enc := base64Std(iss.ID + ":" + iss.Secret)
	s.secrets = append(s.secrets, enc)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.IndexByte(enc, '=') - 1 // holds spare bits, which must be zero
	for name, v := range map[string]string{
		"CRLFInside":       enc[:16] + "\r\n" + enc[16:],
		"LFInside":         enc[:16] + "\n" + enc[16:],
		"NonZeroSpareBits": enc[:i] + string(alphabet[strings.IndexByte(alphabet, enc[i])|1]) + enc[i+1:],
		"TabAfterScheme":   "\t" + enc,
	} {
		t.Run(name, func(t *testing.T) {
			status, body := s.call(t, "POST", verifyapi.ResourceVerify, "keys:verify", tokenBody("Basic "+v))
			if status != 200 || body["code"] != string(apikey.CodeMalformed) {
				t.Fatalf("status %d, code %v; want 200 MALFORMED", status, body["code"])
			}
		})
	}
	if _, body := s.call(t, "POST", verifyapi.ResourceVerify, "keys:verify", tokenBody("Basic "+enc)); body["code"] != "VALID" {
		t.Fatalf("canonical Basic: code %v, want VALID", body["code"])
	}
}
