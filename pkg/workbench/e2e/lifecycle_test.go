package e2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/workbench/localevents"
	"github.com/keyward/keyward/pkg/workbench/localstack"
)

// scanner is a secret scanning service's signing key, made for the test.
type scanner struct {
	id   string
	priv *ecdsa.PrivateKey
}

var leakSigner = func() scanner {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return scanner{id: "e2e-scanner-1", priv: priv}
}()

// doc is the public keys document the stack is configured with.
func (s scanner) doc() []byte {
	der, err := x509.MarshalPKIXPublicKey(&s.priv.PublicKey)
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{{
		"key_identifier": s.id, "key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "is_current": true,
	}}})
	return b
}

// post sends body to POST /v1/leaks signed by s.
func (s scanner) post(t *testing.T, base, body string) (int, string) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	sig, err := ecdsa.SignASN1(rand.Reader, s.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/v1/leaks", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Github-Public-Key-Identifier", s.id)
	req.Header.Set("Github-Public-Key-Signature", base64.StdEncoding.EncodeToString(sig))
	resp, err := (&http.Client{Timeout: 40 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// TestKeyStoryAsEvents follows one key through its life on keyward's event
// bus (the local EventBridge endpoint's events.jsonl): created; expiring
// (the scheduled reminders run, the key being within a day of its expiry);
// leaked (a signed report from a secret scanner); revoked (the tenant's
// default leak action), its token refused at once.
func TestKeyStoryAsEvents(t *testing.T) {
	st := startStack(t)
	a := &api{t: t, base: st.APIURL}
	raw, err := os.ReadFile(st.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	admin := bearer(strings.TrimSpace(string(raw)))

	k := issuedFrom(t, a.expect(201, "POST", "/v1/keys", admin, map[string]any{
		"name": "story " + time.Now().Format("150405.000"), "scopes": []string{"keys:read"}, "expiresIn": "1d",
	}))
	acceptedWithin(t, a, bearer(k.Token), "the new key")
	file := filepath.Join(st.DataDir, localstack.EventsFile)
	story := func() []string {
		evs, _ := localevents.ReadFile(file)
		var out []string
		for _, e := range evs {
			if e.Source == "keyward" && strings.Contains(string(e.Detail), `"keyId":"`+k.ID+`"`) {
				out = append(out, e.DetailType)
			}
		}
		return out
	}
	until := func(want ...string) {
		t.Helper()
		var got []string
		defer func() {
			if t.Failed() {
				t.Logf("events of %s: %v, want %v", k.ID, got, want)
			}
		}()
		eventually(t, 30*time.Second, "the key's story on the event bus", func() bool {
			got = story()
			return slices.Equal(got, want)
		})
	}
	until("key.created")

	// The schedule's run, as EventBridge Scheduler would invoke it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := st.Function("RemindersFunction").Invoke(ctx, []byte("{}"))
	if err != nil || res.FunctionError != "" {
		t.Fatalf("reminders run: %v %s", err, res.Payload)
	}
	until("key.created", "key.expiring")

	// A signed leak report: our token and a forged one.
	forged := k.Token[:len(k.Token)-10] + "AAAAAAAAAA"
	report, _ := json.Marshal([]map[string]string{
		{"token": k.Token, "type": "keyward_api_key", "url": "https://github.com/octo/repo/blob/abc/.env", "source": "content"},
		{"token": forged, "type": "keyward_api_key", "url": "https://example.com/x"},
	})
	status, body := leakSigner.post(t, st.APIURL, string(report))
	if status != 200 || strings.Count(body, "true_positive") != 1 || strings.Count(body, "false_positive") != 1 {
		t.Fatalf("POST /v1/leaks = %d %s", status, body)
	}
	if strings.Contains(body, k.Token) {
		t.Fatal("the leak answer holds the token")
	}
	refusedWithin(t, a, bearer(k.Token), "the leaked key")
	got := a.expect(200, "GET", "/v1/keys/"+k.ID, admin, nil).json(t)
	if got["status"] != "revoked" || got["leak"] == nil {
		t.Fatalf("the leaked key = %v", got)
	}

	// An unsigned report is refused and changes nothing.
	if r := a.do("POST", "/v1/leaks", "", []map[string]string{{"token": k.Token}}); r.status != 401 {
		t.Fatalf("unsigned report = %d %s", r.status, r.body)
	}

	until("key.created", "key.expiring", "key.leaked", "key.revoked")
	data, _ := os.ReadFile(file)
	for _, secret := range []string{k.Token, k.Secret} {
		if strings.Contains(string(data), secret) {
			t.Fatal("an event holds the key's secret or token")
		}
	}
	t.Logf("story of %s: %v", k.ID, story())
}
