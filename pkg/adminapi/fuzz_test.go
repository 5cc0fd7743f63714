package adminapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/unicoderules"
)

// The fuzz targets run the real routers and the real key service over
// memStore, a map behind the apikey.Store port, so a fuzz run needs no
// DynamoDB; the DynamoDB store has its own tests against DynamoDB Local.

var fuzzNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const (
	fuzzTenant   = "acme"
	fuzzAdminID  = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z"
	fuzzWriterID = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y4Z"
)

// fuzzWriterExpiry is when the restricted caller expires.
var fuzzWriterExpiry = fuzzNow.Add(time.Hour)

// fuzzCallers are the calling keys as stored: an unrestricted admin, and a
// writer pinned to a network and an origin that expires in an hour.
func fuzzCallers() []*apikey.StoredKey {
	exp := fuzzWriterExpiry
	mk := func(id, name string, scopes []string, allow apikey.AllowList, exp *time.Time) *apikey.StoredKey {
		return &apikey.StoredKey{Key: apikey.Key{
			ID: id, TenantID: fuzzTenant, Name: name, Type: "client", Scopes: scopes, AllowList: allow,
			Metadata: map[string]string{}, Status: apikey.StatusActive, CreatedAt: fuzzNow.Add(-time.Hour),
			UpdatedAt: fuzzNow.Add(-time.Hour), ExpiresAt: exp, Version: 1,
		}, SecretHash: apikey.Hash{Version: 1, Sum: []byte("caller-secret-hash-32-bytes-long")}}
	}
	return []*apikey.StoredKey{
		mk(fuzzAdminID, "admin", []string{apikey.ScopeAdmin}, apikey.AllowList{IPs: []string{}, Origins: []string{}}, nil),
		mk(fuzzWriterID, "writer", []string{apikey.ScopeWrite, "recordings:*"},
			apikey.AllowList{IPs: []string{"10.1.0.0/16", "2001:db8::/32"}, Origins: []string{"*.example.com"}}, &exp),
	}
}

// memStore is an apikey.Store over a map: enough for the service's
// validation and authority checks, with the name claim and version
// condition the real store enforces.
type memStore struct {
	mu   sync.Mutex
	keys map[string]*apikey.StoredKey
}

func newMemStore(keys ...*apikey.StoredKey) *memStore {
	s := &memStore{keys: map[string]*apikey.StoredKey{}}
	for _, k := range keys {
		s.keys[k.ID] = k.Clone()
	}
	return s
}

func (s *memStore) nameTaken(k *apikey.StoredKey) bool {
	for _, o := range s.keys {
		if o.ID != k.ID && o.TenantID == k.TenantID && o.Status == apikey.StatusActive && unicoderules.NameKey(o.Name) == unicoderules.NameKey(k.Name) {
			return true
		}
	}
	return false
}

func (s *memStore) CreateKey(_ context.Context, k *apikey.StoredKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.keys[k.ID]; dup {
		return apikey.ErrConflict
	}
	if s.nameTaken(k) {
		return apikey.ErrNameTaken
	}
	s.keys[k.ID] = k.Clone()
	return nil
}

func (s *memStore) GetKey(_ context.Context, id string) (*apikey.StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return nil, apikey.ErrNotFound
	}
	return k.Clone(), nil
}

func (s *memStore) UpdateKey(_ context.Context, prev, next *apikey.StoredKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.keys[prev.ID]
	if !ok || cur.Version != prev.Version {
		return apikey.ErrConflict
	}
	if next.Status == apikey.StatusActive && s.nameTaken(next) {
		return apikey.ErrNameTaken
	}
	s.keys[next.ID] = next.Clone()
	return nil
}

func (s *memStore) ListKeys(context.Context, apikey.ListQuery) ([]*apikey.StoredKey, string, error) {
	return nil, "", nil
}

func (s *memStore) LastUsed(context.Context, []string) (map[string]time.Time, error) {
	return map[string]time.Time{}, nil
}

// snapshot is every stored key, for "a refusal changes nothing".
func (s *memStore) snapshot() map[string]*apikey.StoredKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*apikey.StoredKey, len(s.keys))
	for id, k := range s.keys {
		out[id] = k.Clone()
	}
	return out
}

// memHasher is an apikey.Hasher with a fixed HMAC-SHA256 key.
type memHasher struct{}

func (memHasher) mac(purpose string, data []byte) []byte {
	m := hmac.New(sha256.New, []byte("adminapi fuzz pepper/"+purpose))
	m.Write(data)
	return m.Sum(nil)
}

func (h memHasher) Hash(_ context.Context, secret []byte) (apikey.Hash, error) {
	return apikey.Hash{Version: 1, Sum: h.mac("hash", secret)}, nil
}

func (h memHasher) Verify(_ context.Context, secret []byte, hh apikey.Hash) (bool, error) {
	return hh.Version == 1 && hmac.Equal(hh.Sum, h.mac("hash", secret)), nil
}

func (h memHasher) MAC(_ context.Context, purpose string, data []byte) ([]byte, error) {
	return h.mac(purpose, data), nil
}

// fuzzRig is one fuzz input's world: a fresh store holding the callers (and
// for PATCH a target key), the service over it and the route's router.
type fuzzRig struct {
	store  *memStore
	router *apigw.Router
}

func newFuzzRig(t *testing.T, routes func(*apikey.Service) []apigw.Route, extra ...*apikey.StoredKey) fuzzRig {
	t.Helper()
	store := newMemStore(append(fuzzCallers(), extra...)...)
	svc := apikey.NewService(store, memHasher{}, unicoderules.Rules{}, apikey.Config{}, apikey.WithClock(func() time.Time { return fuzzNow }))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return fuzzRig{store: store, router: apigw.NewRouter(log, routes(svc)...)}
}

func fuzzCaller(sel uint8) *apikey.StoredKey { return fuzzCallers()[int(sel)%2] }

// fuzzRequest is a proxy event from caller with the fuzzed body.
func fuzzRequest(caller *apikey.StoredKey, method, resource, keyID, body string, b64 bool, contentType string) events.APIGatewayProxyRequest {
	req := events.APIGatewayProxyRequest{
		HTTPMethod: method, Resource: resource, Path: strings.Replace(resource, "{keyId}", keyID, 1),
		Headers: map[string]string{},
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "req-fuzz",
			Identity:  events.APIGatewayRequestIdentity{SourceIP: "10.1.2.3"},
			Authorizer: map[string]any{
				"principalId": caller.ID, "tenantId": caller.TenantID, "keyId": caller.ID,
				"scopes": strings.Join(caller.Scopes, " "),
			},
		},
		Body: body,
	}
	if keyID != "" {
		req.PathParameters = map[string]string{"keyId": keyID}
	}
	if b64 {
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
	}
	if contentType != "" {
		req.Headers["Content-Type"] = contentType
	}
	return req
}

// fuzzServe sends req and checks what holds for every answer: a JSON body,
// never a 5xx, and a 4xx that names its field unless it is about the body as
// a whole (not JSON, too large, not application/json). It returns the
// decoded body.
func fuzzServe(t *testing.T, r *apigw.Router, req events.APIGatewayProxyRequest) (int, map[string]any) {
	t.Helper()
	resp, err := r.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("status %d with a body that is not JSON: %q", resp.StatusCode, resp.Body)
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("status %d for body %q: %s", resp.StatusCode, clipBody(req.Body), resp.Body)
	}
	if resp.StatusCode >= 400 {
		e, _ := body["error"].(map[string]any)
		code, _ := e["code"].(string)
		field, _ := e["field"].(string)
		msg, _ := e["message"].(string)
		wholeBody := strings.HasPrefix(msg, "the request body") || strings.HasPrefix(msg, "a JSON request body")
		switch {
		case code == apigw.CodePayloadTooLarge || code == apigw.CodeUnsupportedMedia:
		case code == string(apikey.ECodeNameTaken) && strings.HasPrefix(msg, "name:"):
		case code == string(apikey.ECodeInvalid) && (field != "" || wholeBody):
		case code == string(apikey.ECodeForbidden) && field != "":
		case code == string(apikey.ECodeConflict) || code == string(apikey.ECodePreconditionFailed) ||
			code == string(apikey.ECodeDefaultImmutable) || code == string(apikey.ECodeNotFound):
			// about the key's state, not about a field of the request
		default:
			t.Fatalf("status %d names no field: %s (body %q)", resp.StatusCode, resp.Body, clipBody(req.Body))
		}
		if field != "" && !strings.HasPrefix(msg, field) {
			t.Fatalf("message %q does not start with its field %q", msg, field)
		}
	}
	return resp.StatusCode, body
}

func clipBody(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// badText is the text rule the service states: no control, format,
// separator or surrogate characters, no U+FFFD, valid UTF-8.
func badText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if r == utf8.RuneError || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Cs) {
			return true
		}
	}
	return false
}

// checkKeyLimits fails t unless a key as answered (or stored) keeps every
// documented limit, and, for the restricted writer, sits inside it.
func checkKeyLimits(t *testing.T, k apikey.Key, caller *apikey.StoredKey) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("key %s: "+format, append([]any{k.ID}, args...)...)
	}
	if k.TenantID != caller.TenantID || !apikey.ValidKeyID(k.ID) || k.Status != apikey.StatusActive || k.IsDefault {
		fail("tenant %q, status %q, default %v", k.TenantID, k.Status, k.IsDefault)
	}
	if n := utf8.RuneCountInString(k.Name); n < 1 || n > apikey.MaxNameLen || badText(k.Name, false) || k.Name != strings.TrimSpace(k.Name) || unicoderules.NameKey(k.Name) == "" {
		fail("name %+q", k.Name)
	}
	if utf8.RuneCountInString(k.Description) > apikey.MaxDescriptionLen || badText(k.Description, true) {
		fail("description %+q", clipBody(k.Description))
	}
	if !apikey.ValidType(k.Type) {
		fail("type %q", k.Type)
	}
	if len(k.Scopes) < 1 || len(k.Scopes) > apikey.MaxScopes {
		fail("%d scopes", len(k.Scopes))
	}
	for _, s := range k.Scopes {
		if !apikey.ValidScope(s) || !apikey.CanGrant(caller.Scopes, s) {
			fail("scope %q (caller %q)", s, caller.Scopes)
		}
	}
	if len(k.AllowList.IPs) > apikey.MaxCIDRs || len(k.AllowList.Origins) > apikey.MaxOrigins {
		fail("allow-list of %d IPs and %d origins", len(k.AllowList.IPs), len(k.AllowList.Origins))
	}
	for _, s := range k.AllowList.IPs {
		p, err := netip.ParsePrefix(s)
		if err != nil || p != p.Masked() || p.String() != s {
			fail("allow-list IP %q", s)
		}
	}
	for _, o := range k.AllowList.Origins {
		if got, ok := apikey.NormalizeOrigin(o); !ok || got != o {
			fail("allow-list origin %q", o)
		}
	}
	if len(k.Metadata) > apikey.MaxMetadata {
		fail("%d metadata entries", len(k.Metadata))
	}
	for mk, mv := range k.Metadata {
		if n := utf8.RuneCountInString(mk); n < 1 || n > apikey.MaxMetadataKey || badText(mk, false) ||
			utf8.RuneCountInString(mv) > apikey.MaxMetadataValue || badText(mv, false) {
			fail("metadata %+q: %+q", mk, clipBody(mv))
		}
	}
	if k.ExpiresAt != nil && !k.ExpiresAt.After(fuzzNow) {
		fail("expires at %s, not after now", k.ExpiresAt)
	}
	if caller.ExpiresAt != nil && (k.ExpiresAt == nil || k.ExpiresAt.After(*caller.ExpiresAt)) {
		fail("expires at %v, after its creator (%s)", k.ExpiresAt, caller.ExpiresAt)
	}
	if len(caller.AllowList.IPs) > 0 {
		if len(k.AllowList.IPs) == 0 {
			fail("has no IP allow-list; its creator has %q", caller.AllowList.IPs)
		}
		for _, s := range k.AllowList.IPs {
			in := netip.MustParsePrefix(s)
			if !slices.ContainsFunc(caller.AllowList.IPs, func(c string) bool {
				outer := netip.MustParsePrefix(c)
				return unmapped(outer).Bits() <= unmapped(in).Bits() && unmapped(outer).Contains(unmapped(in).Addr())
			}) {
				fail("IP allow-list entry %q is outside its creator's %q", s, caller.AllowList.IPs)
			}
		}
	}
	if len(caller.AllowList.Origins) > 0 { // the writer's: *.example.com
		if len(k.AllowList.Origins) == 0 {
			fail("has no origin allow-list; its creator has %q", caller.AllowList.Origins)
		}
		for _, o := range k.AllowList.Origins {
			host := strings.TrimPrefix(strings.TrimPrefix(o, "https://"), "*.")
			host, _, _ = strings.Cut(host, ":")
			if !strings.HasSuffix(host, ".example.com") {
				fail("origin %q is outside its creator's %q", o, caller.AllowList.Origins)
			}
		}
	}
}

func unmapped(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// decodeKey reads a key resource from a decoded JSON answer.
func decodeKey(t *testing.T, body map[string]any) apikey.Key {
	t.Helper()
	raw, _ := json.Marshal(body)
	var k apikey.Key
	if err := json.Unmarshal(raw, &k); err != nil {
		t.Fatalf("answer is not a key: %v", err)
	}
	for _, f := range []string{"secretHash", "SecretHash", "previousHash", "pepperVersion"} {
		if _, ok := body[f]; ok {
			t.Fatalf("answer carries %s", f)
		}
	}
	return k
}

var fuzzBodySeeds = []string{
	`{"name":"BI export","scopes":["recordings:read"]}`,
	`{"name":"Payroll","scopes":["recordings:read"],"description":"line\nnext\ttab","type":"client"}`,
	`{"name":"payroll\u200b","scopes":["recordings:read"]}`,
	`{"name":"\u0440ayroll","scopes":["recordings:read"]}`,
	`{"name":"Payroll\u202e","scopes":["recordings:read"]}`,
	`{"name":"cafe\u0301","scopes":["recordings:read"]}`,
	`{"name":"\uff30\uff41\uff59\uff52\uff4f\uff4c\uff4c","scopes":["recordings:read"]}`,
	`{"name":"x","scopes":["recordings:read"],"metadata":{"a":"b\u0000c","\u001b[31m":"x","crlf":"a\r\nb"}}`,
	`{"name":"x","scopes":["keys:admin"]}`,
	`{"name":"x","scopes":["keys:*"]}`,
	`{"name":"x","scopes":["tenants:act"]}`,
	`{"name":"x","scopes":["Recordings:Read"]}`,
	`{"name":"x","scopes":[]}`,
	`{"name":"x","scopes":"recordings:read"}`,
	`{"name":"x","scopes":["recordings:read"],"allowList":{"ips":["10.1.2.3","::ffff:10.1.2.3/120","fe80::1%eth0"],"origins":["https://A.Example.COM:443","*.b.example.com"]}}`,
	`{"name":"x","scopes":["recordings:read"],"allowList":{"ips":["10.1.2.3/33"]}}`,
	`{"name":"x","scopes":["recordings:read"],"allowList":{"origins":["https://user@a.example.com"]}}`,
	`{"name":"x","scopes":["recordings:read"],"allowList":{"ips":[],"origins":[]},"expiresAt":"2026-11-23T12:30:00Z"}`,
	`{"name":"x","scopes":["recordings:read"],"allowList":{"ips":["10.1.0.0/15"],"origins":["*.example.com"]},"expiresAt":"2026-11-23T12:30:00Z"}`,
	`{"name":"x","scopes":["recordings:read"],"allowList":null,"expiresAt":"2030-01-01T00:00:00Z"}`,
	`{"name":"x","scopes":["recordings:read"],"expiresAt":"2000-01-01T00:00:00Z"}`,
	`{"name":"x","scopes":["recordings:read"],"expiresAt":"tomorrow"}`,
	`{"name":"x","scopes":["recordings:read"],"unknown":1}`,
	`{"name":"x","scopes":["recordings:read"]} {}`,
	`{"name":"x","scopes":["recordings:read"]`,
	`[1,2]`,
	`"x"`,
	``,
	`   `,
	`{"name":1e400}`,
	`{"name":"` + strings.Repeat("a", 129) + `","scopes":["recordings:read"]}`,
	`{"name":"x","description":"` + strings.Repeat("\\u00e9", 1025) + `","scopes":["recordings:read"]}`,
	`{"name":"x","scopes":["recordings:read"],"metadata":{"` + strings.Repeat("k", 65) + `":"v"}}`,
	`{"name":"x","scopes":["recordings:read"],"type":"Client"}`,
	`{"name":"\ud800","scopes":["recordings:read"]}`,
	`{"name":"x","scopes":["recordings:read"],"name":"y"}`,
	`{"name":"x","scopes":["recordings:read"],"scopes":null}`,
}

// FuzzCreateBody sends arbitrary POST /v1/keys bodies through the create
// router and the key service: never a 5xx; a 4xx names its field (or is
// about the body as a whole) and stores nothing; a 201 stores exactly the
// key it answers, which keeps every documented limit and sits inside the
// calling key (scopes it could grant, no later expiry, allow-lists within).
func FuzzCreateBody(f *testing.F) {
	for i, s := range fuzzBodySeeds {
		f.Add(s, uint8(i), i%7 == 3, []string{"", "application/json", "application/merge-patch+json; charset=UTF-8", "text/plain"}[i%4])
	}
	f.Add(`{"name":"big","scopes":["recordings:read"],"description":"`+strings.Repeat("x", apigw.MaxBodyBytes)+`"}`, uint8(0), false, "")
	f.Add(`{"name":"x","scopes":["recordings:read"]}`, uint8(0), false, "application/json; charset=latin1")
	f.Fuzz(func(t *testing.T, body string, sel uint8, b64 bool, contentType string) {
		caller := fuzzCaller(sel)
		rig := newFuzzRig(t, func(s *apikey.Service) []apigw.Route { return adminapi.CreateRoutes(s) })
		before := rig.store.snapshot()
		status, ans := fuzzServe(t, rig.router, fuzzRequest(caller, "POST", adminapi.ResourceKeys, "", body, b64, contentType))
		after := rig.store.snapshot()
		if status != 201 {
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("status %d, but the store changed", status)
			}
			return
		}
		k := decodeKey(t, ans)
		checkKeyLimits(t, k, caller)
		if tok, _ := ans["token"].(string); tok == "" || ans["secret"] == nil {
			t.Fatalf("201 without a token: %v", ans)
		}
		stored, ok := after[k.ID]
		if !ok || len(after) != len(before)+1 {
			t.Fatalf("201 for %s, but the store holds %d keys (was %d)", k.ID, len(after), len(before))
		}
		if pub := stored.Public(fuzzNow); !reflect.DeepEqual(normalizeTimes(pub), normalizeTimes(k)) {
			t.Fatalf("answered %+v, stored %+v", k, pub)
		}
	})
}

// normalizeTimes drops monotonic clock readings and locations, which JSON
// does not carry, so an answer and a stored key compare.
func normalizeTimes(k apikey.Key) apikey.Key {
	fix := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		u := p.UTC().Round(0)
		return &u
	}
	k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC().Round(0), k.UpdatedAt.UTC().Round(0)
	k.ExpiresAt, k.RevokedAt, k.RotatedAt = fix(k.ExpiresAt), fix(k.RevokedAt), fix(k.RotatedAt)
	k.PreviousSecretExpiresAt, k.LastUsedAt = fix(k.PreviousSecretExpiresAt), fix(k.LastUsedAt)
	return k
}

const (
	fuzzTargetID = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y5Z"
	fuzzOtherID  = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y6Z"
)

// fuzzTargets are the keys a PATCH edits: one the writer may act on, one
// holding a scope it could not grant, and the tenant's default key.
func fuzzTargets() []*apikey.StoredKey {
	exp := fuzzNow.Add(30 * time.Minute)
	base := func(id, name string, scopes []string) *apikey.StoredKey {
		return &apikey.StoredKey{Key: apikey.Key{
			ID: id, TenantID: fuzzTenant, Name: name, Type: "client", Scopes: scopes,
			AllowList: apikey.AllowList{IPs: []string{"10.1.2.0/24"}, Origins: []string{"https://a.example.com"}},
			Metadata:  map[string]string{"team": "bi"}, Status: apikey.StatusActive,
			CreatedAt: fuzzNow.Add(-time.Hour), UpdatedAt: fuzzNow.Add(-time.Hour), ExpiresAt: &exp, Version: 3,
		}, SecretHash: apikey.Hash{Version: 1, Sum: []byte("target-secret-hash-32-bytes-long")}}
	}
	def := base("key_01JD5Z8K3N4Q7R2T6V9W0X1Y7Z", "default", []string{apikey.ScopeAdmin})
	def.IsDefault, def.ExpiresAt = true, nil
	return []*apikey.StoredKey{
		base(fuzzTargetID, "CRM sync", []string{"recordings:read"}),
		base(fuzzOtherID, "Payroll", []string{"audit:read"}),
		def,
	}
}

// FuzzPatchBody sends arbitrary PATCH /v1/keys/{keyId} bodies (and If-Match
// values) through the edit router and the key service: never a 5xx; a 4xx
// names its field (or is about the body as a whole) and changes nothing; a
// 200 answers the key as stored, one version on (or unchanged when nothing
// changed), within every documented limit, its expiry never moved later and
// its allow-list inside the restricted caller's when it set one.
func FuzzPatchBody(f *testing.F) {
	var seeds []string
	for _, s := range fuzzBodySeeds { // the create bodies, less their scopes
		s = strings.Replace(s, `,"scopes":["recordings:read"]`, "", 1)
		seeds = append(seeds, strings.Replace(s, `"scopes":["recordings:read"],`, "", 1))
	}
	for i, s := range append(seeds,
		`{"name":"Payroll"}`, `{"name":"payroll "}`, `{"name":"CRM sync"}`,
		`{"expiresAt":"2026-11-23T12:10:00Z"}`, `{"expiresAt":"2026-11-23T13:00:00Z"}`, `{"expiresAt":null}`,
		`{"allowList":{"ips":[],"origins":[]}}`, `{"allowList":null}`, `{"allowList":{"ips":["10.1.2.3"],"origins":["https://b.example.com:8443"]}}`,
		`{"metadata":null}`, `{"metadata":{}}`, `{"description":""}`, `{}`,
		`{"type":"client"}`, `{"scopes":["recordings:read"]}`, `{"scopes":null}`,
	) {
		f.Add(s, uint8(i), uint8(i/2), []string{"", `"3"`, "", `W/"3"`, "*", "", `"2"`, "", "3", `"3", "4"`, "abc"}[i%11], i%9 == 4)
	}
	f.Fuzz(func(t *testing.T, body string, sel, target uint8, ifMatch string, b64 bool) {
		caller := fuzzCaller(sel)
		targets := fuzzTargets()
		tk := targets[int(target)%len(targets)]
		rig := newFuzzRig(t, func(s *apikey.Service) []apigw.Route { return adminapi.EditRoutes(s) }, targets...)
		req := fuzzRequest(caller, "PATCH", adminapi.ResourceKey, tk.ID, body, b64, "")
		if ifMatch != "" {
			req.Headers["If-Match"] = ifMatch
		}
		before := rig.store.snapshot()
		status, ans := fuzzServe(t, rig.router, req)
		after := rig.store.snapshot()
		if status != 200 {
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("status %d, but the store changed", status)
			}
			return
		}
		k := decodeKey(t, ans)
		prev, stored := before[tk.ID], after[tk.ID]
		if k.ID != tk.ID || !reflect.DeepEqual(normalizeTimes(stored.Public(fuzzNow)), normalizeTimes(k)) {
			t.Fatalf("answered %+v, stored %+v", k, stored.Public(fuzzNow))
		}
		for id := range before {
			if id != tk.ID && !reflect.DeepEqual(before[id], after[id]) {
				t.Fatalf("editing %s changed %s", tk.ID, id)
			}
		}
		switch {
		case stored.Version == prev.Version:
			if !reflect.DeepEqual(prev, stored) {
				t.Fatalf("the key changed without a new version")
			}
			return
		case stored.Version != prev.Version+1:
			t.Fatalf("version %d -> %d", prev.Version, stored.Version)
		}
		if tk.IsDefault || !apikey.CanActOnScopes(caller.Scopes, prev.Scopes) {
			t.Fatalf("%q edited %s holding %q (default %v)", caller.Scopes, tk.ID, prev.Scopes, tk.IsDefault)
		}
		if !slices.Equal(stored.Scopes, prev.Scopes) || stored.Type != prev.Type || !reflect.DeepEqual(stored.SecretHash, prev.SecretHash) {
			t.Fatalf("scopes, type or secret changed")
		}
		if prev.ExpiresAt != nil && (stored.ExpiresAt == nil || stored.ExpiresAt.After(*prev.ExpiresAt)) {
			t.Fatalf("expiry moved from %s to %v", prev.ExpiresAt, stored.ExpiresAt)
		}
		// Within the caller: what the edit set must sit inside the caller; an
		// allow-list left alone is the target's own.
		limits := *caller
		if reflect.DeepEqual(stored.AllowList, prev.AllowList) {
			limits.AllowList = apikey.AllowList{}
		}
		limits.ExpiresAt = nil
		checkKeyLimits(t, stored.Public(fuzzNow), &limits)
	})
}
