package apigw

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keyward/keyward/pkg/apikey"
)

// TestActingHeaders: Keyward-Tenant and Keyward-Actor are honoured only for
// keys holding tenants:act and actors:assert, validated, and read in the
// function (the authorizer context names the key's own tenant).
func TestActingHeaders(t *testing.T) {
	platform := "keys:admin tenants:act actors:assert"
	cases := []struct {
		name          string
		scopes        string
		headers       map[string][]string
		tenant, actor string
		code          apikey.Code
		field         string
	}{
		{name: "NoHeadersActsAsTheKey", scopes: "keys:read", tenant: testTenant},
		{name: "PlatformKeyActsInATenant", scopes: platform, headers: map[string][]string{"keyward-tenant": {"globex"}}, tenant: "globex"},
		{name: "PlatformKeyActsForAPerson", scopes: platform,
			headers: map[string][]string{"Keyward-Actor": {"  user:jane@acme.example "}}, tenant: testTenant, actor: "user:jane@acme.example"},
		{name: "TenantHeaderWithoutTheScopeIsForbidden", scopes: "keys:admin actors:assert",
			headers: map[string][]string{"Keyward-Tenant": {"globex"}}, code: apikey.ECodeForbidden, field: HeaderTenant},
		{name: "ActorHeaderWithoutTheScopeIsForbidden", scopes: "keys:admin tenants:act",
			headers: map[string][]string{"Keyward-Actor": {"user:jane@acme.example"}}, code: apikey.ECodeForbidden, field: HeaderActor},
		{name: "BadTenantIsInvalid", scopes: platform, headers: map[string][]string{"Keyward-Tenant": {"Not_A_Tenant"}}, code: apikey.ECodeInvalid, field: HeaderTenant},
		{name: "TenantSentTwiceIsInvalid", scopes: platform,
			headers: map[string][]string{"Keyward-Tenant": {"globex"}, "keyward-tenant": {"initech"}}, code: apikey.ECodeInvalid, field: HeaderTenant},
		{name: "ActorWithAControlCharacterIsInvalid", scopes: platform, headers: map[string][]string{"Keyward-Actor": {"jane\x1b[31m"}}, code: apikey.ECodeInvalid, field: HeaderActor},
		{name: "ActorWithAZeroWidthCharacterIsInvalid", scopes: platform, headers: map[string][]string{"Keyward-Actor": {"ja\u200bne"}}, code: apikey.ECodeInvalid, field: HeaderActor},
		{name: "ActorTooLongIsInvalid", scopes: platform, headers: map[string][]string{"Keyward-Actor": {strings.Repeat("j", 201)}}, code: apikey.ECodeInvalid, field: HeaderActor},
		{name: "ActorPassingForAKeyIsInvalid", scopes: platform, headers: map[string][]string{"Keyward-Actor": {"key_01JD5Z8K3N4Q7R2T6V9W0X1Y3Z"}}, code: apikey.ECodeInvalid, field: HeaderActor},
		{name: "ActorPassingForKeywardIsInvalid", scopes: platform, headers: map[string][]string{"Keyward-Actor": {"operator:local"}}, code: apikey.ECodeInvalid, field: HeaderActor},
		{name: "ActorPassingForTheSystemIsInvalid", scopes: platform, headers: map[string][]string{"Keyward-Actor": {"System"}}, code: apikey.ECodeInvalid, field: HeaderActor},
		{name: "EmptyActorIsInvalid", scopes: platform, headers: map[string][]string{"Keyward-Actor": {" "}}, code: apikey.ECodeInvalid, field: HeaderActor},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := authorized(c.scopes)
			req.RequestContext.Authorizer["keyName"] = "console"
			req.MultiValueHeaders = c.headers
			got, err := CallerFrom(req)
			if c.code != "" {
				status := http.StatusBadRequest
				if c.code == apikey.ECodeForbidden {
					status = http.StatusForbidden
				}
				wantError(t, err, c.code, c.field, status)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.TenantID != c.tenant || got.HomeTenant() != testTenant || got.Actor != c.actor || got.KeyName != "console" {
				t.Fatalf("caller = %+v, want tenant %s (key's own %s), actor %q", got, c.tenant, testTenant, c.actor)
			}
			ch := got.Change()
			wantActor := c.actor
			if wantActor == "" {
				wantActor = testKey
			}
			if ch.Actor != wantActor || ch.ActorKeyID != testKey || ch.ActorKeyName != "console" {
				t.Errorf("change = %+v, want actor %s by %s (console)", ch, wantActor, testKey)
			}
		})
	}
}

// FuzzActingHeaders: whatever scopes a key holds and whatever it sends as
// Keyward-Tenant and Keyward-Actor, the caller acts in another tenant only
// with tenants:act and a well-formed tenant ID, for a person only with
// actors:assert and an acceptable name, and every refusal is a 400 or 403
// naming the header.
func FuzzActingHeaders(f *testing.F) {
	f.Add("keys:admin tenants:act actors:assert", "globex", "user:jane@acme.example", false, false)
	f.Add("keys:read", "globex", "", false, false)
	f.Add("tenants:*", "acme", "key_01JD5Z8K3N4Q7R2T6V9W0X1Y3Z", true, false)
	f.Add("actors:*", "", "jane\u200b", false, true)
	f.Fuzz(func(t *testing.T, scopes, tenant, actor string, twiceTenant, twiceActor bool) {
		req := authorized(scopes)
		req.MultiValueHeaders = map[string][]string{}
		if tenant != "" {
			req.MultiValueHeaders["Keyward-Tenant"] = []string{tenant}
			if twiceTenant {
				req.MultiValueHeaders["keyward-tenant"] = []string{tenant + "x"}
			}
		}
		if actor != "" {
			req.MultiValueHeaders["Keyward-Actor"] = []string{actor}
			if twiceActor {
				req.MultiValueHeaders["KEYWARD-ACTOR"] = []string{actor}
			}
		}
		held, wellFormed := parseScopes(scopes)
		c, err := CallerFrom(req)
		if !wellFormed { // the authorizer context itself is unreadable
			if apikey.ErrorCode(err) != apikey.ECodeUnauthorized {
				t.Fatalf("unreadable scopes %q: %v, want unauthorized", scopes, err)
			}
			return
		}
		if err != nil {
			e, ok := apikey.AsError(err)
			if !ok || (e.Code != apikey.ECodeInvalid && e.Code != apikey.ECodeForbidden) || (e.Field != HeaderTenant && e.Field != HeaderActor) {
				t.Fatalf("refusal %v is not a 400 or 403 naming a header", err)
			}
			return
		}
		if c.Acting() && (!apikey.HasScope(held, apikey.ScopeTenantsAct) || !apikey.ValidTenantID(c.TenantID) || c.TenantID != tenant) {
			t.Fatalf("acts in %q with scopes %q", c.TenantID, scopes)
		}
		if c.Actor != "" {
			if !apikey.HasScope(held, apikey.ScopeActorsAssert) {
				t.Fatalf("asserts %q without actors:assert (%q)", c.Actor, scopes)
			}
			if _, err := apikey.ValidateActor(HeaderActor, c.Actor); err != nil {
				t.Fatalf("asserted actor %q is not acceptable: %v", c.Actor, err)
			}
		}
		if c.Change().ActorKeyID != testKey {
			t.Fatalf("the change names key %q, want the calling key", c.Change().ActorKeyID)
		}
	})
}
