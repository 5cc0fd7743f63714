package e2e_test

import (
	"testing"
	"time"
)

// TestNoKeyActsAboveItself replays the takeovers of a keys:write key through
// the gateway, the authorizer and the real function binaries: each is a 403
// and the target keeps working.
func TestNoKeyActsAboveItself(t *testing.T) {
	st := startStack(t)
	a := &api{t: t, base: st.APIURL}
	root := bearer(bootstrapTenant(t, st, "authority"))
	defID, _ := a.expect(200, "GET", "/v1/whoami", root, nil).json(t)["keyId"].(string)

	writer := issuedFrom(t, a.expect(201, "POST", "/v1/keys", root, map[string]any{
		"name": "writer", "scopes": []string{"keys:write", "keys:read", "keys:revoke"},
	}))
	w := bearer(writer.Token)

	t.Run("AWriteKeyCannotRotateTheDefaultKey", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		if r := a.do("POST", "/v1/keys/"+defID+"/rotate", w, map[string]any{}); r.status != 403 {
			t.Fatalf("rotate the default key as keys:write: %d %s, want 403", r.status, r.body)
		}
		a.expect(200, "GET", "/v1/whoami", root, nil)
	})
	t.Run("AWriteKeyCannotEditAKeyAboveIt", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		ops := issuedFrom(t, a.expect(201, "POST", "/v1/keys", root, map[string]any{
			"name": "ops", "scopes": []string{"keys:write", "keys:read", "keys:revoke", "audit:read"},
			"allowList": map[string]any{"ips": []string{"127.0.0.1/32"}},
		}))
		soon := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)
		for _, body := range []map[string]any{{"allowList": map[string]any{"ips": []string{}}}, {"expiresAt": soon}} {
			if r := a.do("PATCH", "/v1/keys/"+ops.ID, w, body); r.status != 403 {
				t.Fatalf("PATCH %v as keys:write: %d %s, want 403", body, r.status, r.body)
			}
		}
		if r := a.do("DELETE", "/v1/keys/"+ops.ID, w, nil); r.status != 403 {
			t.Fatalf("revoke a key above: %d %s, want 403", r.status, r.body)
		}
		if v := a.expect(200, "GET", "/v1/keys/"+ops.ID, root, nil).json(t)["version"]; v != float64(1) {
			t.Fatalf("the key above was written: version %v", v)
		}
	})
	t.Run("NobodyGrantsKeysAdmin", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		for _, scopes := range [][]string{{"keys:admin"}} {
			if r := a.do("POST", "/v1/keys", root, map[string]any{"name": "admin2", "scopes": scopes}); r.status != 403 {
				t.Fatalf("grant %v: %d %s, want 403", scopes, r.status, r.body)
			}
		}
	})
	t.Run("ARestrictedKeyCannotMintAnUnrestrictedCopy", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		hour := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		pinned := issuedFrom(t, a.expect(201, "POST", "/v1/keys", root, map[string]any{
			"name": "pinned", "scopes": []string{"keys:write", "keys:read"}, "expiresAt": hour,
			"allowList": map[string]any{"ips": []string{"127.0.0.1/32"}},
		}))
		p := bearer(pinned.Token)
		if r := a.do("POST", "/v1/keys", p, map[string]any{"name": "copy", "scopes": []string{"keys:write", "keys:read"}}); r.status != 403 {
			t.Fatalf("unrestricted copy: %d %s, want 403", r.status, r.body)
		}
		a.expect(201, "POST", "/v1/keys", p, map[string]any{
			"name": "copy", "scopes": []string{"keys:read"}, "expiresAt": hour,
			"allowList": map[string]any{"ips": []string{"127.0.0.1"}},
		})
	})
}
