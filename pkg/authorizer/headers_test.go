package authorizer_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
)

// TestMoreThanOneAuthorizationValueIsUnauthorized: two Authorization values,
// in any spellings of the name, in headers, multiValueHeaders or both, are a
// 401 without a store read, every time (not as the maps' order falls).
func TestMoreThanOneAuthorizationValueIsUnauthorized(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	a := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
	b := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
	tokA, tokB := bearer(a.Token), bearer(b.Token)
	with := func(headers map[string]string, multi map[string][]string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
		req := request("", "GET", "/v1/whoami")
		for k, v := range headers {
			req.Headers[k] = v
		}
		req.MultiValueHeaders = multi
		return req
	}
	cases := map[string]events.APIGatewayCustomAuthorizerRequestTypeRequest{
		"HeadersTwoSpellingsOneToken":   with(map[string]string{"Authorization": tokA, "authorization": tokA}, nil),
		"HeadersTwoSpellingsTwoKeys":    with(map[string]string{"Authorization": tokA, "authorization": tokB}, nil),
		"HeadersTwoSpellingsOneGarbage": with(map[string]string{"Authorization": tokA, "AUTHORIZATION": "Bearer x"}, nil),
		"HeadersBearerAndBasic":         with(map[string]string{"Authorization": tokA, "authorization": basic(a.ID, a.Secret)}, nil),
		"MultiTwoSpellings":             with(nil, map[string][]string{"Authorization": {tokA}, "authorization": {tokB}}),
		"MultiTwoSpellingsOneToken":     with(nil, map[string][]string{"Authorization": {tokA}, "authorization": {tokA}}),
		"MultiOneNameTwoValues":         with(nil, map[string][]string{"Authorization": {tokA, tokA}}),
		"BothMapsTwoSpellings": with(map[string]string{"Authorization": tokA, "authorization": tokB},
			map[string][]string{"Authorization": {tokA}, "authorization": {tokB}}),
		"MultiOneSpellingHeadersAnother": with(map[string]string{"authorization": tokB}, map[string][]string{"Authorization": {tokA}}),
		"EmptyAndToken":                  with(nil, map[string][]string{"Authorization": {""}, "authorization": {tokA}}),
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			for range 20 {
				auth := s.newAuthorizer(s.cfg, s.hasher) // a fresh container: nothing cached
				gets := s.store.gets.Load()
				if got := s.call(t, auth, req).kind(); got != "401" {
					t.Fatalf("kind = %s, want 401", got)
				}
				if got := s.store.gets.Load() - gets; got != 0 {
					t.Fatalf("store reads = %d, want 0", got)
				}
			}
		})
	}
	// One header, as API Gateway sends it (all values in
	// multiValueHeaders, the last repeated in headers), is let through.
	one := with(map[string]string{"Authorization": tokA}, map[string][]string{"Authorization": {tokA}})
	if got := s.call(t, s.newAuthorizer(s.cfg, s.hasher), one).kind(); got != "allow" {
		t.Fatalf("one Authorization header in both maps: kind = %s, want allow", got)
	}
}

// TestNonCanonicalBasicIsUnauthorized: a Basic credential is decoded with
// strict base64; any other spelling of it is a 401 without a store read.
func TestNonCanonicalBasicIsUnauthorized(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
	enc := base64.StdEncoding.EncodeToString([]byte(iss.ID + ":" + iss.Secret))
	s.secrets = append(s.secrets, enc)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.IndexByte(enc, '=') - 1 // holds spare bits, which must be zero
	spareBits := enc[:i] + string(alphabet[strings.IndexByte(alphabet, enc[i])|1]) + enc[i+1:]
	variants := map[string]string{
		"CRLFInside":       enc[:16] + "\r\n" + enc[16:],
		"LFInside":         enc[:16] + "\n" + enc[16:],
		"CRLFAtTheEnd":     enc + "\r\n",
		"SpaceInside":      enc[:16] + " " + enc[16:],
		"NoPadding":        strings.TrimRight(enc, "="),
		"NonZeroSpareBits": spareBits,
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			s.secrets = append(s.secrets, v)
			gets := s.store.gets.Load()
			r := s.call(t, s.newAuthorizer(s.cfg, s.hasher), request("Basic "+v, "GET", "/v1/whoami"))
			if got := r.kind(); got != "401" {
				t.Fatalf("kind = %s, want 401", got)
			}
			if got := s.store.gets.Load() - gets; got != 0 {
				t.Fatalf("store reads = %d, want 0", got)
			}
		})
	}
	if got := s.call(t, s.newAuthorizer(s.cfg, s.hasher), request("Basic "+enc, "GET", "/v1/whoami")).kind(); got != "allow" {
		t.Fatalf("canonical Basic: kind = %s, want allow", got)
	}
}

// TestAnOriginSentTwiceWithDifferentValuesIsDenied: an origin allow-list
// is never decided by which of two Origin values the maps yield first.
func TestAnOriginSentTwiceWithDifferentValuesIsDenied(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}, AllowList: &apikey.AllowList{Origins: []string{"https://crm.example.com"}}})
	good, evil := "https://crm.example.com", "https://evil.example.net"
	cases := map[string]func(req *events.APIGatewayCustomAuthorizerRequestTypeRequest){
		"HeadersTwoSpellings": func(req *events.APIGatewayCustomAuthorizerRequestTypeRequest) {
			req.Headers["Origin"], req.Headers["origin"] = good, evil
		},
		"MultiTwoValues": func(req *events.APIGatewayCustomAuthorizerRequestTypeRequest) {
			req.MultiValueHeaders = map[string][]string{"Origin": {good, evil}}
		},
		"MultiTwoSpellings": func(req *events.APIGatewayCustomAuthorizerRequestTypeRequest) {
			req.MultiValueHeaders = map[string][]string{"Origin": {good}, "ORIGIN": {evil}}
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			for range 20 {
				req := request(bearer(iss.Token), "GET", "/v1/whoami")
				edit(&req)
				if got := s.call(t, s.newAuthorizer(s.cfg, s.hasher), req).kind(); got != "403" {
					t.Fatalf("kind = %s, want 403", got)
				}
			}
		})
	}
	req := request(bearer(iss.Token), "GET", "/v1/whoami")
	req.Headers["Origin"], req.Headers["origin"] = good, good
	if got := s.call(t, s.newAuthorizer(s.cfg, s.hasher), req).kind(); got != "allow" {
		t.Fatalf("the same origin under two spellings: kind = %s, want allow", got)
	}
}
