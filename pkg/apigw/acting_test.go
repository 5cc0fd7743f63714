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
