package bench

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
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/leaks"
)

// ColdFunctions are the functions whose cold start is measured, in the
// order they are measured: every folder under functions/ (a unit test
// holds the two together, and ColdCases refuses to run when they differ).
var ColdFunctions = []string{
	"authorizer", "verify", "create", "list", "edit", "revoke", "audit", "auditstream",
	"flush", "tenants", "policy", "leaks", "events", "reminders", "console",
}

// Functions lists the folders under root's functions/: every function.
func Functions(root string) ([]string, error) {
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range dirs {
		if d.IsDir() {
			names = append(names, d.Name())
		}
	}
	return names, nil
}

// EventBus is the local name of keyward's event bus (the local stack names
// buses by logical ID), the EVENT_BUS_NAME of events and reminders.
const EventBus = "EventBus"

// coldFixtures are what the cold cases' requests need, made before the runs.
type coldFixtures struct {
	probe   *apikey.Issued   // a key to verify, authorize and edit
	victims []*apikey.Issued // one key per run to revoke
	leaked  []*apikey.Issued // one key per run to report leaked
	samples map[string][]byte
	scanner *ecdsa.PrivateKey
	keysURL string // where the scanner's public keys document is served
}

// ColdCases are the cold-start cases of every function, each invoked with
// the kind of input it really gets (an API Gateway proxy or authorizer
// event, a stream batch, a scheduled event) and a request that succeeds.
// Keys the requests need are created first, for runs runs and one more
// (Event(runs), for WarmUp). Call stop when the runs are over (it stops the
// leak reports' signing-keys server).
func (e *Env) ColdCases(ctx context.Context, bins map[string]string, root string, runs int) (cases []ColdCase, stop func(), err error) {
	dirs, err := Functions(root)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Equal(slices.Sorted(slices.Values(dirs)), slices.Sorted(slices.Values(ColdFunctions))) {
		return nil, nil, fmt.Errorf("functions/ holds %v but the cold cases are of %v: add the new function's case", dirs, ColdFunctions)
	}
	f, stop, err := e.coldFixtures(ctx, root, runs)
	if err != nil {
		return nil, nil, err
	}
	byName := e.coldCases(f)
	env := e.FunctionEnv()
	for _, name := range ColdFunctions {
		c, ok := byName[name]
		if !ok {
			stop()
			return nil, nil, fmt.Errorf("no cold case for %s", name)
		}
		c.Name, c.Bin, c.Env = name, bins[name], append(append([]string{}, env...), c.Env...)
		if c.Slack == 0 {
			c.Slack = 25 * time.Millisecond
		}
		cases = append(cases, c)
	}
	return cases, stop, nil
}

// coldCases are the cases by function, without their binary and common
// environment.
func (e *Env) coldCases(f *coldFixtures) map[string]ColdCase {
	a, p := e.Admin, e.Platform
	keyPath := "/v1/keys/" + f.probe.ID
	fixed := func(b []byte) func(int) ([]byte, error) { return func(int) ([]byte, error) { return b, nil } }
	stamp := time.Now().UnixNano()
	bus := []string{"EVENT_BUS_NAME=" + EventBus}
	return map[string]ColdCase{
		"authorizer": {Slack: 15 * time.Millisecond, Check: Allowed, After: true, Event: fixed(AuthorizerEvent(f.probe.Token))},
		"verify": {Check: Status2xx,
			Event: fixed(Proxy(a, "POST", "/v1/verify", "/v1/verify", nil, nil, `{"token":"`+f.probe.Token+`"}`))},
		"create": {Check: Status2xx, Event: func(i int) ([]byte, error) {
			return Proxy(a, "POST", "/v1/keys", "/v1/keys", nil, nil, fmt.Sprintf(`{"name":"cold-create-%d-%d","scopes":["keys:read"]}`, stamp, i)), nil
		}},
		"list": {Check: Status2xx, Event: fixed(Proxy(a, "GET", "/v1/keys", "/v1/keys", nil, map[string]string{"limit": "50"}, ""))},
		"edit": {Check: Status2xx, Event: func(i int) ([]byte, error) {
			return Proxy(a, "PATCH", "/v1/keys/{keyId}", keyPath, map[string]string{"keyId": f.probe.ID}, nil, fmt.Sprintf(`{"description":"run %d"}`, i)), nil
		}},
		"revoke": {Check: Status2xx, Event: func(i int) ([]byte, error) {
			v := f.victims[i]
			return Proxy(a, "DELETE", "/v1/keys/{keyId}", "/v1/keys/"+v.ID, map[string]string{"keyId": v.ID}, nil, ""), nil
		}},
		"audit":       {Check: Status2xx, Event: fixed(Proxy(a, "GET", "/v1/audit", "/v1/audit", nil, map[string]string{"limit": "50"}, ""))},
		"auditstream": {Check: NoBatchFailures, Event: fixed(f.samples["auditstream-insert.json"])},
		// A revocation on the keys table's stream: list the stages, flush each.
		"flush": {Check: NoFailure, Event: fixed(f.samples["flush-stream-revoke.json"])},
		"tenants": {Check: Status2xx, Event: func(i int) ([]byte, error) {
			return Proxy(p, "POST", "/v1/tenants", "/v1/tenants", nil, nil, fmt.Sprintf(`{"id":"cold-%d-%d","name":"Cold start %d"}`, stamp%1e9, i, i)), nil
		}},
		"policy": {Check: Status2xx, Event: fixed(Proxy(a, "GET", "/v1/policy", "/v1/policy", nil, nil, ""))},
		"leaks": {Check: Status2xx, Env: []string{"LEAK_SIGNING_KEYS_URL=" + f.keysURL},
			Event: func(i int) ([]byte, error) { return f.leakReport(f.leaked[i].Token) }},
		"events": {Check: NoBatchFailures, Env: bus, Event: fixed(f.samples["events-audit-insert.json"])},
		// An hourly run: one Query per day partition (98 of expiries, 8 of
		// disuse checks) whatever the container's age; its target is taken
		// beside its own warm run.
		"reminders": {Check: NoFailure, Env: bus, Warm: true, Event: fixed(f.samples["reminders-schedule.json"])},
		"console":   {Check: Status2xx, Event: fixed(f.samples["console-page.json"])},
	}
}

// coldFixtures creates the keys the runs use up, reads the sample events
// and serves a secret scanner's public keys document on loopback (what
// LeakSigningKeysUrl serves by default).
func (e *Env) coldFixtures(ctx context.Context, root string, runs int) (*coldFixtures, func(), error) {
	f := &coldFixtures{samples: map[string][]byte{}}
	mk := func(what string, i int) (*apikey.Issued, error) {
		return e.Service.Create(ctx, e.Admin, apikey.CreateInput{Name: fmt.Sprintf("cold-%s-%d-%d", what, time.Now().UnixNano(), i), Scopes: []string{"keys:read"}})
	}
	var err error
	if f.probe, err = mk("probe", 0); err != nil {
		return nil, nil, err
	}
	for i := range runs + 1 { // the last for the warm-up round
		v, err := mk("revoke", i)
		if err != nil {
			return nil, nil, err
		}
		l, err := mk("leak", i)
		if err != nil {
			return nil, nil, err
		}
		f.victims, f.leaked = append(f.victims, v), append(f.leaked, l)
	}
	for _, name := range []string{"auditstream-insert.json", "flush-stream-revoke.json", "events-audit-insert.json", "reminders-schedule.json", "console-page.json"} {
		if f.samples[name], err = os.ReadFile(filepath.Join(root, "events", name)); err != nil {
			return nil, nil, err
		}
	}
	if f.scanner, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&f.scanner.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	doc, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{{
		"key_identifier": scannerKeyID, "key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "is_current": true,
	}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	f.keysURL = srv.URL + "/meta/public_keys/secret_scanning"
	return f, srv.Close, nil
}

// scannerKeyID names the bench's secret scanner's signing key.
const scannerKeyID = "bench-scanner"

// leakReport is a POST /v1/leaks event reporting token, signed by the
// scanner as GitHub signs its reports.
func (f *coldFixtures) leakReport(token string) ([]byte, error) {
	body, _ := json.Marshal([]leaks.Match{{Token: token, Type: "keyward_api_key", URL: "https://github.com/example/repo/blob/main/.env", Source: "content"}})
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, f.scanner, sum[:])
	if err != nil {
		return nil, err
	}
	return Request(RequestSpec{Method: "POST", Resource: "/v1/leaks", Path: "/v1/leaks", Body: string(body), Headers: map[string]string{
		"Content-Type": "application/json", leaks.HeaderKeyID: scannerKeyID, leaks.HeaderSignature: base64.StdEncoding.EncodeToString(sig),
	}}), nil
}

// NoBatchFailures refuses a function error and a stream answer that names
// records to retry (batchItemFailures).
func NoBatchFailures(a Answer) error {
	if err := NoFailure(a); err != nil {
		return err
	}
	var r struct {
		BatchItemFailures []json.RawMessage `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(a.Payload, &r); err != nil || len(r.BatchItemFailures) > 0 {
		return fmt.Errorf("answer %.300s", a.Payload)
	}
	return nil
}
