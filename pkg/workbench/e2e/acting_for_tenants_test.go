package e2e_test

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

const jane = "user:jane@acme.example"

// This file sorts before e2e_test.go, so its calls of the tenants routes
// are recorded before TestEndToEnd checks that every route was driven.

// TestPlatformActsForPeopleInTenants drives the platform model through the
// gateway, the authorizer and the real function binaries: the operator
// tenant's platform key creates tenant acme, acts inside it for Jane, acme's
// audit trail shows Jane (and the platform key behind her), ordinary keys
// cannot borrow the headers, a suspension refuses every key of acme at once
// and break-glass gives acme a new default key.
func TestPlatformActsForPeopleInTenants(t *testing.T) {
	st := startStack(t)
	a := &api{t: t, base: st.APIURL}
	raw, err := os.ReadFile(st.PlatformTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	platform := bearer(strings.TrimSpace(string(raw)))
	me := a.expect(200, "GET", "/v1/whoami", platform, nil).json(t)
	platformID, _ := me["keyId"].(string)
	if me["tenantId"] != "operator" || !slices.Contains(anyStrings(me["scopes"]), "tenants:admin") {
		t.Fatalf("platform key whoami = %v, want tenant operator with tenants:admin", me)
	}

	created := a.expect(201, "POST", "/v1/tenants", platform, map[string]any{"id": "acme", "name": "Acme Contact Centre"}).json(t)
	dk, _ := created["defaultKey"].(map[string]any)
	acmeToken, _ := dk["token"].(string)
	acmeDefaultID, _ := dk["id"].(string)
	if created["status"] != "active" || created["createdBy"] != platformID || !tokenRE.MatchString(acmeToken) {
		t.Fatalf("POST /v1/tenants = %v, want an active tenant created by the platform key with a default key token", created)
	}
	acme := bearer(acmeToken)
	var janeKey issued

	t.Run("TenantsAreListedAndRead", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		if r := a.do("POST", "/v1/tenants", platform, map[string]any{"id": "acme", "name": "again"}); r.status != 409 || r.errorCode(t) != "tenant_exists" {
			t.Errorf("a second acme: %d %s, want 409 tenant_exists", r.status, r.body)
		}
		if got := itemIDs(a.expect(200, "GET", "/v1/tenants?limit=100", platform, nil).json(t)); !slices.Contains(got, "acme") {
			t.Errorf("GET /v1/tenants = %v, want acme listed", got)
		}
		if m := a.expect(200, "GET", "/v1/tenants/acme", platform, nil).json(t); m["name"] != "Acme Contact Centre" || m["defaultKeyId"] != acmeDefaultID {
			t.Errorf("GET /v1/tenants/acme = %v", m)
		}
		a.expect(403, "GET", "/v1/tenants", acme, nil)
		a.expect(403, "POST", "/v1/tenants", acme, map[string]any{"id": "evil", "name": "Evil"})
	})

	t.Run("PlatformKeyActsInAcmeForJane", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		r := a.expect(201, "POST", "/v1/keys", platform, map[string]any{"name": "Jane's CRM sync", "scopes": []string{"keys:read"}},
			"Keyward-Tenant", "acme", "Keyward-Actor", jane)
		janeKey = issuedFrom(t, r)
		m := r.json(t)
		if m["tenantId"] != "acme" || m["createdBy"] != jane || m["createdByKeyId"] != platformID || m["createdByKeyName"] != "default" {
			t.Errorf("key made for Jane = %v, want tenant acme, createdBy Jane, createdByKeyId the platform key", m)
		}
		// acme's own admin sees it; the platform key sees acme's keys only when it acts there.
		a.expect(200, "GET", "/v1/keys/"+janeKey.ID, acme, nil)
		a.expect(404, "GET", "/v1/keys/"+janeKey.ID, platform, nil)
		a.expect(200, "GET", "/v1/keys/"+janeKey.ID, platform, nil, "Keyward-Tenant", "acme")
		a.expect(404, "GET", "/v1/keys/"+platformID, acme, nil)
	})

	t.Run("AcmeAuditTrailShowsJane", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		var rec map[string]any
		eventually(t, 15*time.Second, "Jane's record in acme's audit trail", func() bool {
			items, _ := a.expect(200, "GET", "/v1/audit?actor="+url.QueryEscape(jane), acme, nil).json(t)["items"].([]any)
			for _, it := range items {
				if m, _ := it.(map[string]any); m["keyId"] == janeKey.ID && m["action"] == "key.created" {
					rec = m
				}
			}
			return rec != nil
		})
		if rec["actor"] != jane || rec["actorKeyId"] != platformID || rec["actorKeyName"] != "default" || rec["tenantId"] != "acme" {
			t.Errorf("audit record = %v, want actor Jane, actorKeyId the platform key", rec)
		}
	})

	t.Run("OrdinaryKeysCannotBorrowTheHeaders", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		if r := a.do("GET", "/v1/keys", acme, nil, "Keyward-Tenant", "operator"); r.status != 403 {
			t.Errorf("acme's default key with Keyward-Tenant: %d %s, want 403", r.status, r.body)
		}
		if r := a.do("POST", "/v1/keys", acme, map[string]any{"name": "spoof", "scopes": []string{"keys:read"}}, "Keyward-Actor", jane); r.status != 403 {
			t.Errorf("acme's default key with Keyward-Actor: %d %s, want 403", r.status, r.body)
		}
		for _, bad := range []string{"user:\u200bjane", strings.Repeat("j", 201)} {
			if r := a.do("GET", "/v1/keys", platform, nil, "Keyward-Actor", bad); r.status != 400 {
				t.Errorf("Keyward-Actor %q: %d %s, want 400", bad, r.status, r.body)
			}
		}
	})

	t.Run("SuspensionRefusesEveryKeyOfTheTenantAtOnce", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		janeAuth := bearer(janeKey.Token)
		a.expect(200, "GET", "/v1/keys", janeAuth, nil) // cached by the gateway before the suspension
		m := a.expect(200, "POST", "/v1/tenants/acme/suspend", platform, nil, "Keyward-Actor", "user:ops@platform.example").json(t)
		if m["status"] != "suspended" || m["suspendedAt"] == nil {
			t.Fatalf("suspend = %v", m)
		}
		refusedWithin(t, a, acme, "acme's default key")
		refusedWithin(t, a, janeAuth, "Jane's key")
		a.expect(200, "GET", "/v1/whoami", platform, nil)
		a.expect(200, "POST", "/v1/tenants/acme/resume", platform, nil)
		eventually(t, revocationTarget, "acme's key accepted after resume", func() bool {
			return a.do("GET", "/v1/keys", acme, nil).status == 200
		})
		a.expect(409, "POST", "/v1/tenants/operator/suspend", platform, nil)
	})

	t.Run("BreakGlassRotatesTheDefaultKey", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		// make bootstrap TENANT=acme ROTATE_DEFAULT=1, against this stack.
		root, err := samtemplate.Find(".")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "run", "./scripts/bootstrap", "-dir", st.DataDir, "-tenant", "acme", "-rotate-default", "-quiet")
		cmd.Dir = filepath.Dir(root)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("break-glass: %v\n%s", err, stderr.String())
		}
		newToken := strings.TrimSpace(string(out))
		if !tokenRE.MatchString(newToken) {
			t.Fatalf("break-glass printed no token")
		}
		refusedWithin(t, a, acme, "acme's lost default token")
		a.expect(200, "GET", "/v1/keys", bearer(newToken), nil)
		eventually(t, 15*time.Second, "the break-glass rotation in acme's audit trail", func() bool {
			items, _ := a.expect(200, "GET", "/v1/audit?actor=operator:local", bearer(newToken), nil).json(t)["items"].([]any)
			return len(items) > 0
		})
	})
}
