package authorizer

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/unicoderules"
)

// The fuzz targets run the real key service and the real authorizer over
// fuzzStore, a map behind the apikey.Store and authorizer Store ports, so a
// fuzz run needs no DynamoDB; the authorizer's other tests use DynamoDB Local.

// fuzzStore is the key store as the service and the authorizer see it: keys
// by ID, with the name claim and version condition the real store enforces.
type fuzzStore struct {
	mu   sync.Mutex
	keys map[string]*apikey.StoredKey
}

func (s *fuzzStore) CreateKey(_ context.Context, k *apikey.StoredKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.keys {
		if o.ID == k.ID {
			return apikey.ErrConflict
		}
		if o.TenantID == k.TenantID && o.Status == apikey.StatusActive && unicoderules.NameKey(o.Name) == unicoderules.NameKey(k.Name) {
			return apikey.ErrNameTaken
		}
	}
	s.keys[k.ID] = k.Clone()
	return nil
}

func (s *fuzzStore) GetKey(_ context.Context, id string) (*apikey.StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[id]; ok {
		return k.Clone(), nil
	}
	return nil, apikey.ErrNotFound
}

func (s *fuzzStore) UpdateKey(_ context.Context, prev, next *apikey.StoredKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.keys[prev.ID]; !ok || cur.Version != prev.Version {
		return apikey.ErrConflict
	}
	s.keys[next.ID] = next.Clone()
	return nil
}

func (s *fuzzStore) ListKeys(context.Context, apikey.ListQuery) ([]*apikey.StoredKey, string, error) {
	return nil, "", nil
}

func (s *fuzzStore) LastUsed(context.Context, []string) (map[string]time.Time, error) {
	return map[string]time.Time{}, nil
}

func (s *fuzzStore) TouchLastUsed(context.Context, string, time.Time, time.Duration) (bool, error) {
	return true, nil
}

func (s *fuzzStore) RecordStage(context.Context, apikey.Stage, time.Time) error { return nil }

func (s *fuzzStore) RecordDeadline(context.Context, apikey.Deadline) error { return nil }

// fuzzHasher is an apikey.Hasher with a fixed HMAC-SHA256 key.
type fuzzHasher struct{}

func (fuzzHasher) mac(purpose string, data []byte) []byte {
	m := hmac.New(sha256.New, []byte("authorizer fuzz pepper/"+purpose))
	m.Write(data)
	return m.Sum(nil)
}

func (h fuzzHasher) Hash(_ context.Context, secret []byte) (apikey.Hash, error) {
	return apikey.Hash{Version: 1, Sum: h.mac("hash", secret)}, nil
}

func (h fuzzHasher) Verify(_ context.Context, secret []byte, hh apikey.Hash) (bool, error) {
	return hh.Version == 1 && hmac.Equal(hh.Sum, h.mac("hash", secret)), nil
}

func (h fuzzHasher) MAC(_ context.Context, purpose string, data []byte) ([]byte, error) {
	return h.mac(purpose, data), nil
}

// countingReader is a deterministic randomness source for key IDs and secrets.
type countingReader struct{ n uint64 }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		r.n++
		p[i] = byte(r.n*0x9e3779b97f4a7c15>>56) ^ byte(r.n)
	}
	return len(p), nil
}

var fuzzT0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const fuzzAdminID = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z"

// fuzzCredential is one credential the fuzz world issued.
type fuzzCredential struct {
	what          string
	keyID, secret string
	token         string
}

// fuzzWorld is a tenant's keys in every state that matters to the
// authorizer, made through the real service: an admin key, keys with and
// without allow-lists, a revoked and an expired key, and two rotated keys
// whose previous secret is in and out of its grace period.
type fuzzWorld struct {
	store *fuzzStore
	creds []fuzzCredential
	now   time.Time // the authorizer's clock: 30 minutes after the keys were made
}

func newFuzzWorld(tb testing.TB) *fuzzWorld {
	tb.Helper()
	ctx := context.Background()
	rnd := &countingReader{}
	adminSecret, err := apikey.NewSecret(rnd)
	if err != nil {
		tb.Fatal(err)
	}
	adminHash, _ := fuzzHasher{}.Hash(ctx, []byte(adminSecret))
	w := &fuzzWorld{store: &fuzzStore{keys: map[string]*apikey.StoredKey{
		fuzzAdminID: {Key: apikey.Key{
			ID: fuzzAdminID, TenantID: "acme", Name: "admin", Type: "client", Scopes: []string{apikey.ScopeAdmin},
			AllowList: apikey.AllowList{IPs: []string{}, Origins: []string{}}, Metadata: map[string]string{},
			Status: apikey.StatusActive, CreatedAt: fuzzT0, UpdatedAt: fuzzT0, Version: 1,
		}, SecretHash: adminHash},
	}}, now: fuzzT0.Add(30 * time.Minute)}
	w.creds = append(w.creds, fuzzCredential{"admin", fuzzAdminID, adminSecret, apikey.FormatToken("kw", fuzzAdminID, adminSecret)})
	clock := fuzzT0
	svc := apikey.NewService(w.store, fuzzHasher{}, unicoderules.Rules{}, apikey.Config{}, apikey.WithClock(func() time.Time { return clock }), apikey.WithRand(rnd))
	admin := apikey.Caller{TenantID: "acme", KeyID: fuzzAdminID, Scopes: []string{apikey.ScopeAdmin}}
	create := func(what string, in apikey.CreateInput) *apikey.Issued {
		in.Name = what
		iss, err := svc.Create(ctx, admin, in)
		if err != nil {
			tb.Fatalf("create %s: %v", what, err)
		}
		w.creds = append(w.creds, fuzzCredential{what, iss.ID, iss.Secret, iss.Token})
		return iss
	}
	create("reader", apikey.CreateInput{Scopes: []string{"recordings:read", apikey.ScopeRead}})
	create("pinned", apikey.CreateInput{Scopes: []string{"recordings:*", "profile:read", "files:read"}, AllowList: &apikey.AllowList{
		IPs: []string{"10.1.0.0/16", "::ffff:192.0.2.0/120", "2001:db8::/32"}, Origins: []string{"*.example.com", "https://app.example.org"},
	}})
	revoked := create("revoked", apikey.CreateInput{Scopes: []string{"recordings:read"}})
	if _, err := svc.Revoke(ctx, admin, revoked.ID); err != nil {
		tb.Fatal(err)
	}
	exp := fuzzT0.Add(10 * time.Minute).Format(time.RFC3339)
	create("expired", apikey.CreateInput{Scopes: []string{"recordings:read"}, ExpiresAt: &exp})
	for _, r := range []struct {
		what  string
		grace int
	}{{"rotated in grace", 3600}, {"rotated past grace", 60}} {
		old := create(r.what+" (old secret)", apikey.CreateInput{Scopes: []string{"recordings:read"}})
		g := r.grace
		iss, err := svc.Rotate(ctx, admin, old.ID, apikey.RotateInput{GracePeriodSeconds: &g}, nil)
		if err != nil {
			tb.Fatal(err)
		}
		w.creds = append(w.creds, fuzzCredential{r.what + " (new secret)", iss.ID, iss.Secret, iss.Token})
	}
	return w
}

// valid reports whether (keyID, secret) is a credential the world's store
// accepts at its clock: a stored, active, unexpired key whose secret, or
// previous secret within its grace period, hashes to the stored hash.
func (w *fuzzWorld) valid(keyID, secret string) (*apikey.StoredKey, bool) {
	k, ok := w.store.keys[keyID]
	if !ok || k.Status != apikey.StatusActive || (k.ExpiresAt != nil && !w.now.Before(*k.ExpiresAt)) {
		return nil, false
	}
	sum := fuzzHasher{}.mac("hash", []byte(secret))
	if hmac.Equal(sum, k.SecretHash.Sum) {
		return k, true
	}
	if k.PreviousHash != nil && k.PreviousSecretExpiresAt != nil && w.now.Before(*k.PreviousSecretExpiresAt) && hmac.Equal(sum, k.PreviousHash.Sum) {
		return k, true
	}
	return nil, false
}

// fuzzRouteScopes are protected routes nested under each other.
var fuzzRouteScopes = []apikey.RouteScope{
	{Method: "GET", Path: "/recordings/{id}", Scope: "recordings:read"},
	{Method: "GET", Path: "/recordings/{id}/audio", Scope: "recordings:audio"},
	{Method: "GET", Path: "/tenants/{tenantId}", Scope: "profile:read"},
	{Method: "GET", Path: "/tenants/{tenantId}/billing/{invoiceId}", Scope: "billing:read"},
	{Method: "ANY", Path: "/files/{path+}", Scope: "files:read"},
	{Method: "GET", Path: "/public/*", Scope: "recordings:read"},
}

// routeSpecificity ranks a route matching a resource path, independently of
// the authorizer: per segment a literal beats {p}, which beats a trailing
// rest segment (* or {p+}); then an exact method beats ANY. ok is false when
// the route does not match.
func routeSpecificity(r apikey.RouteScope, method, resource string) (rank []int, ok bool) {
	methodRank := 1
	switch rm := strings.ToUpper(r.Method); {
	case rm == "ANY" || rm == "*":
		methodRank = 0
	case rm != strings.ToUpper(method):
		return nil, false
	}
	split := func(p string) []string {
		if p == "/" {
			return nil
		}
		return strings.Split(strings.TrimPrefix(p, "/"), "/")
	}
	pat, res := split(r.Path), split(resource)
	for i, ps := range pat {
		if ps == "*" || isGreedy(ps) { // the last segment: one or more remaining
			if i >= len(res) {
				return nil, false
			}
			return append(rank, 0, methodRank), true
		}
		switch {
		case i >= len(res) || isGreedy(res[i]):
			return nil, false
		case isWholeParam(ps):
			rank = append(rank, 1)
		case isWholeParam(res[i]) || res[i] != ps:
			return nil, false
		default:
			rank = append(rank, 2)
		}
	}
	if len(pat) != len(res) {
		return nil, false
	}
	return append(rank, methodRank), true
}

// isWholeParam reports whether a segment is {name} or {name+}, name holding
// no braces or +.
func isWholeParam(s string) bool {
	if len(s) < 3 || s[0] != '{' || s[len(s)-1] != '}' {
		return false
	}
	name := strings.TrimSuffix(s[1:len(s)-1], "+")
	return name != "" && !strings.ContainsAny(name, "{}+")
}

func isGreedy(s string) bool { return isWholeParam(s) && strings.HasSuffix(s, "+}") }

// routeAllows is the route rule stated independently: the most specific
// routes matching method and resource must all allow scopes, and there must
// be one.
func routeAllows(routes []apikey.RouteScope, method, resource string, scopes []string) bool {
	var best [][]int
	var bestRoutes []apikey.RouteScope
	for _, r := range routes {
		rank, ok := routeSpecificity(r, method, resource)
		if !ok {
			continue
		}
		c := 1
		if len(best) > 0 {
			c = slices.Compare(rank, best[0])
		}
		switch {
		case c > 0:
			best, bestRoutes = [][]int{rank}, []apikey.RouteScope{r}
		case c == 0:
			best, bestRoutes = append(best, rank), append(bestRoutes, r)
		}
	}
	for _, r := range bestRoutes {
		if !r.Allows(scopes) {
			return false
		}
	}
	return len(bestRoutes) > 0
}

// eventStagePrefix is the API and stage part of a method ARN, read
// independently: arn:partition:execute-api:region:account:api/stage/.
func eventStagePrefix(arn string) (string, bool) {
	i, colons := 0, 0
	for ; i < len(arn) && colons < 5; i++ {
		if arn[i] == ':' {
			colons++
		}
	}
	if colons < 5 || !strings.HasPrefix(arn, "arn:") || strings.Split(arn, ":")[2] != "execute-api" {
		return "", false
	}
	parts := strings.SplitN(arn[i:], "/", 3)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
		return "", false
	}
	return arn[:i] + parts[0] + "/" + parts[1] + "/", true
}

// authorizationValues counts the Authorization values an event carries, the
// way API Gateway delivers them: every value in multiValueHeaders, in any
// spelling of the name, and each headers value not listed there.
func authorizationValues(req events.APIGatewayCustomAuthorizerRequestTypeRequest) []string {
	var vals []string
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, "authorization") {
			vals = append(vals, vs...)
		}
	}
	listed := slices.Clone(vals)
	for k, v := range req.Headers {
		if strings.EqualFold(k, "authorization") && !slices.Contains(listed, v) {
			vals = append(vals, v)
		}
	}
	return vals
}

// FuzzDecide sends arbitrary REQUEST authorizer events (Authorization
// header spellings and values, built from real credentials or not, method,
// resource, path, source IP, Origin, method ARN) to the real authorizer over
// keys made by the real service. It never panics; it answers an Allow, a
// Deny, Unauthorized or a failure and nothing else; an Allow needs exactly
// one Authorization value holding a valid credential of a stored, active,
// unexpired key, a route whose scope the key holds, and names only that
// route's ARN under the event's stage; a Deny never allows anything; the
// concrete path never changes the answer; no log line or context carries a
// secret.
func FuzzDecide(f *testing.F) {
	const arn = "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/GET/recordings/r1"
	type seed struct {
		auth                  string
		sel                   uint8
		name                  string
		dup                   uint8
		method, resource, ip  string
		origin, methodARN     string
		cacheTTL, gatewayMode bool
	}
	for _, s := range []seed{
		{sel: 1*8 + 1, method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{sel: 1*8 + 1, method: "GET", resource: "/recordings/{id}/audio", ip: "203.0.113.7", methodARN: arn},
		{sel: 2*8 + 1, method: "GET", resource: "/tenants/{tenantId}/billing/{invoiceId}", ip: "10.1.2.3", origin: "https://a.example.com", methodARN: arn},
		{sel: 2*8 + 1, method: "GET", resource: "/tenants/{tenantId}", ip: "::ffff:10.1.2.3", origin: "https://app.example.org:443", methodARN: arn},
		{sel: 2*8 + 2, method: "get", resource: "/recordings/{id}", ip: "192.0.2.9", origin: "https://A.EXAMPLE.com", methodARN: arn},
		{sel: 2*8 + 1, method: "GET", resource: "/recordings/{id}", ip: "10.2.0.1", origin: "https://a.example.com", methodARN: arn},
		{sel: 2*8 + 1, method: "GET", resource: "/recordings/{id}", ip: "2001:db8::1%eth0", origin: "https://example.com", methodARN: arn},
		{sel: 2*8 + 1, method: "GET", resource: "/recordings/{id}", ip: "10.1.2.3", origin: "https://user@a.example.com", methodARN: arn},
		{sel: 3*8 + 1, method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{sel: 4*8 + 1, method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{sel: 5*8 + 2, method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{sel: 6*8 + 1, method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{sel: 7*8 + 1, method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{sel: 0*8 + 1, method: "POST", resource: "/v1/keys", ip: "203.0.113.7", methodARN: arn},
		{sel: 0*8 + 1, method: "DELETE", resource: "/v1/keys/{keyId}", ip: "203.0.113.7", methodARN: arn, cacheTTL: true},
		{sel: 1*8 + 1, name: "authorization", dup: 1, method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{sel: 1*8 + 1, dup: 2, method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{sel: 1*8 + 1, dup: 3, method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn, gatewayMode: true},
		{sel: 1*8 + 3, auth: "x", method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{sel: 1*8 + 4, auth: "\r\n", method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{auth: "Bearer kw_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z_000", method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{auth: "Basic a2V5XzAxOnNlY3JldA==", method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{sel: 1*8 + 1, method: "GET", resource: "/recordings/*", ip: "203.0.113.7", methodARN: arn},
		{sel: 1*8 + 1, method: "*", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: arn},
		{sel: 1*8 + 1, method: "GET", resource: "/public/{proxy+}", ip: "203.0.113.7", methodARN: arn},
		{sel: 2*8 + 1, method: "*", resource: "/files/{path+}", ip: "10.1.0.1", origin: "https://a.example.com", methodARN: arn},
		{sel: 2*8 + 1, method: "GET", resource: "/files/*", ip: "10.1.0.1", origin: "https://a.example.com", methodARN: arn},
		{sel: 2*8 + 1, method: "GET/files", resource: "/{x}", ip: "10.1.0.1", origin: "https://a.example.com", methodARN: arn},
		{sel: 1*8 + 1, method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: "arn:aws:execute-api:eu-west-1:1:api/*/GET/x"},
		{sel: 1*8 + 1, method: "GET", resource: "/recordings/{id}", ip: "203.0.113.7", methodARN: "arn:aws:s3:::bucket/prod/GET"},
		{sel: 1*8 + 1, method: "", resource: "", ip: "", methodARN: ""},
		{sel: 1*8 + 1, method: "GET", resource: "recordings//x", ip: "203.0.113.7", methodARN: arn},
	} {
		f.Add(s.auth, s.sel, s.name, s.dup, s.method, s.resource, "/recordings/r1", s.ip, s.origin, s.methodARN, s.cacheTTL, s.gatewayMode)
	}
	world := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, auth string, sel uint8, name string, dup uint8, method, resource, path, ip, origin, methodARN string, cacheTTL, gatewayMode bool) {
		cred := world.creds[int(sel/8)%len(world.creds)]
		value := auth
		switch sel % 8 {
		case 1:
			value = "Bearer " + cred.token
		case 2:
			value = "Basic " + base64.StdEncoding.EncodeToString([]byte(cred.keyID+":"+cred.secret))
		case 3:
			value = "Bearer " + cred.token + auth
		case 4:
			if len(auth) > 0 {
				i := int(auth[0]) % len(cred.token)
				value = "Bearer " + cred.token[:i] + auth[1:] + cred.token[i+1:]
			}
		}
		if name == "" {
			name = "Authorization"
		}
		req := events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Type: "REQUEST", MethodArn: methodARN, Resource: resource, Path: path, HTTPMethod: method,
			Headers: map[string]string{name: value},
			RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
				RequestID: "req-fuzz", Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: ip},
			},
		}
		switch dup % 4 {
		case 1: // the same value under another spelling of the name
			req.Headers["AUTHORIZATION"] = value
		case 2: // sent twice
			req.MultiValueHeaders = map[string][]string{name: {value, value}}
		case 3: // as API Gateway sends one header: in both maps
			req.MultiValueHeaders = map[string][]string{name: {value}}
		}
		if origin != "" {
			req.Headers["Origin"] = origin
		}
		logs := &syncBuffer{}
		cfg := Config{RouteScopes: fuzzRouteScopes, GatewayCaches: gatewayMode}
		if cacheTTL {
			cfg.KeyCacheTTL = time.Minute
		}
		a := New(world.store, fuzzHasher{}, cfg, WithClock(func() time.Time { return world.now }), WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))

		resp, err := a.Handle(context.Background(), req)
		other := req
		other.Path = "/elsewhere/" + path
		resp2, err2 := a.Handle(context.Background(), other)
		if !errors.Is(err2, err) || !equalJSON(resp, resp2) {
			t.Fatalf("the concrete path changed the answer: %v %+v, then %v %+v", err, resp, err2, resp2)
		}
		for _, c := range world.creds {
			for _, s := range []string{c.secret, c.token} {
				if strings.Contains(logs.String(), s) {
					t.Fatalf("a log line holds the %s credential: %s", c.what, logs.String())
				}
				if b, _ := json.Marshal(resp.Context); bytes.Contains(b, []byte(s)) {
					t.Fatalf("the context holds the %s credential: %s", c.what, b)
				}
			}
		}
		if err != nil {
			if err != ErrUnauthenticated && err != ErrFailure {
				t.Fatalf("error %v is neither Unauthorized nor a failure", err)
			}
			return
		}
		stmts := resp.PolicyDocument.Statement
		if len(stmts) != 1 || !slices.Equal(stmts[0].Action, []string{"execute-api:Invoke"}) {
			t.Fatalf("policy %+v", resp.PolicyDocument)
		}
		prefix, ok := eventStagePrefix(methodARN)
		if !ok {
			t.Fatalf("a policy for a method ARN that names no stage (%q): %+v", methodARN, resp.PolicyDocument)
		}
		if stmts[0].Effect == "Deny" {
			if !slices.Equal(stmts[0].Resource, []string{prefix + "*"}) {
				t.Fatalf("Deny names %q", stmts[0].Resource)
			}
			return
		}
		if stmts[0].Effect != "Allow" {
			t.Fatalf("effect %q", stmts[0].Effect)
		}
		// An Allow: one Authorization value, a valid credential, the route's scope.
		vals := authorizationValues(req)
		if len(vals) != 1 {
			t.Fatalf("Allow for %d Authorization values %q", len(vals), vals)
		}
		keyID, secret, perr := apikey.ParseAuthorization("kw", vals[0])
		k, valid := world.valid(keyID, secret)
		if perr != nil || !valid || resp.PrincipalID != k.ID {
			t.Fatalf("Allow for %q (principal %q), which is no valid credential of an active key", vals[0], resp.PrincipalID)
		}
		if resp.Context["keyId"] != k.ID || resp.Context["tenantId"] != k.TenantID {
			t.Fatalf("context %v for key %s", resp.Context, k.ID)
		}
		if !routeAllows(append(apikey.AdminRoutes(), fuzzRouteScopes...), method, resource, k.Scopes) {
			t.Fatalf("Allow for %s %s to a key holding %q", method, resource, k.Scopes)
		}
		if len(k.AllowList.IPs) > 0 {
			a, err := netip.ParseAddr(strings.TrimSpace(ip))
			if err != nil || !slices.ContainsFunc(k.AllowList.IPs, func(s string) bool {
				return v4Form(netip.MustParsePrefix(s)).Contains(a.Unmap().WithZone(""))
			}) {
				t.Fatalf("Allow from %q outside the key's %q", ip, k.AllowList.IPs)
			}
		}
		if len(k.AllowList.Origins) > 0 && !slices.ContainsFunc(k.AllowList.Origins, func(o string) bool { return originNames(o, origin) }) {
			t.Fatalf("Allow for Origin %q, which the key's %q do not name", origin, k.AllowList.Origins)
		}
		// Only the route's own ARN pattern: the stage prefix, the method and
		// the resource path, with * only for whole {param} segments. An event
		// API Gateway cannot send (a method that is not a word, a resource
		// path holding * or ?) is never allowed: its policy would be wider.
		if !gatewayShaped(method, resource) {
			t.Fatalf("Allow for %q %q, an event API Gateway cannot send", method, resource)
		}
		want := prefix + strings.ToUpper(method)
		if resource == "/" {
			want += "/"
		}
		for _, seg := range strings.Split(strings.TrimPrefix(resource, "/"), "/") {
			if isWholeParam(seg) {
				seg = "*"
			}
			if resource != "/" {
				want += "/" + seg
			}
		}
		if !slices.Equal(stmts[0].Resource, []string{want}) {
			t.Fatalf("Allow names %q, want only %q", stmts[0].Resource, want)
		}
	})
}

// gatewayShaped reports whether API Gateway could send this method and
// resource path: the method a word, the resource path free of the policy
// wildcards * and ?.
func gatewayShaped(method, resource string) bool {
	for _, r := range method {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return method != "" && !strings.ContainsAny(resource, "*?")
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// syncBuffer is a log sink for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FuzzAllowListMatch checks that validation and enforcement of allow-lists
// agree: an allow-list the key service accepts (through Create) compiles
// entry for entry in the authorizer; every address sampled inside an
// accepted CIDR, in either IPv4 spelling, is let in; every origin an
// accepted pattern names is let in, with or without its default port; and
// whatever the authorizer lets in, from any source IP or Origin, is inside
// an entry of the list.
func FuzzAllowListMatch(f *testing.F) {
	for _, s := range [][4]string{
		{"10.1.2.3", "https://crm.example.com", "10.1.2.3", "https://crm.example.com:443"},
		{"::ffff:10.0.0.1/120", "*.example.com", "10.0.0.77", "https://a.b.example.com:8443"},
		{"::ffff:10.0.0.1", "https://a.example.com:443", "::ffff:10.0.0.1", "https://a.example.com"},
		{"fe80::1%eth0", "*.example.com", "fe80::1%eth1", "https://example.com"},
		{"fe80::/10", "https://A.Example.COM", "fe80::1234%eth0", "https://a.example.com."},
		{"2001:DB8::/32,10.0.0.0/8", "https://a.example.com", "2001:db8::1", "https://user@a.example.com"},
		{"0.0.0.0/0", "https://xn--bcher-kva.example", "255.255.255.255", "https://b\u00fccher.example"},
		{"::/64", "*.a.example.com", "::ffff:1.2.3.4", "https://x.a.example.com/path?q"},
		{"192.168.0.0/16", "https://a.example.com:8443", "192.168.001.001", "HTTPS://A.EXAMPLE.COM:8443"},
		{"10.1.2.3/32", "https://a.example.com", " 10.1.2.3 ", "https://a.example.com#.evil.com"},
		{"10.1.2.3/33", "http://a.example.com", "10.1.2.3", "http://a.example.com"},
		{"", "*.example.com", "", "https://evil.com\\.example.com"},
	} {
		f.Add(s[0], s[1], s[2], s[3], uint64(0x0123456789abcdef))
	}
	world := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, ips, origins, src, reqOrigin string, r uint64) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		svc := apikey.NewService(&fuzzStore{keys: map[string]*apikey.StoredKey{fuzzAdminID: world.store.keys[fuzzAdminID]}},
			fuzzHasher{}, unicoderules.Rules{}, apikey.Config{}, apikey.WithClock(func() time.Time { return fuzzT0 }))
		iss, err := svc.Create(context.Background(), apikey.Caller{TenantID: "acme", KeyID: fuzzAdminID, Scopes: []string{apikey.ScopeAdmin}},
			apikey.CreateInput{Name: "fuzz", Scopes: []string{"recordings:read"}, AllowList: &apikey.AllowList{IPs: split(ips), Origins: split(origins)}})
		if err != nil {
			if e, ok := apikey.AsError(err); !ok || e.Code != apikey.ECodeInvalid || !strings.HasPrefix(e.Field, "allowList.") {
				t.Fatalf("create refused %q %q with %v, want invalid_request naming an allowList entry", ips, origins, err)
			}
			return
		}
		stored := iss.AllowList
		ipsOnly := apikey.NewAllowMatcher(apikey.AllowList{IPs: stored.IPs})
		ipAllowed := func(a string) bool { return ipsOnly.Check(a, "", "") == "" }
		var prefixes []netip.Prefix
		for _, s := range stored.IPs {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				t.Fatalf("stored CIDR %q: %v", s, err)
			}
			prefixes = append(prefixes, p)
			for _, a := range sampleAddrs(p, r) {
				if !ipAllowed(a.String()) {
					t.Fatalf("%s is inside accepted %q but refused", a, s)
				}
				if a.Is4() && !ipAllowed(netip.AddrFrom16(a.As16()).String()) {
					t.Fatalf("%s (IPv4-mapped) is inside accepted %q but refused", netip.AddrFrom16(a.As16()), s)
				}
			}
		}
		if len(stored.IPs) > 0 && ipAllowed(src) {
			a, err := netip.ParseAddr(strings.TrimSpace(src))
			if err != nil {
				t.Fatalf("%q let in, but it is no address", src)
			}
			a = a.Unmap().WithZone("")
			if !slices.ContainsFunc(prefixes, func(p netip.Prefix) bool { return v4Form(p).Contains(a) }) {
				t.Fatalf("%q let in, outside %q", src, stored.IPs)
			}
		}

		originsOnly := apikey.NewAllowMatcher(apikey.AllowList{Origins: stored.Origins})
		for _, o := range stored.Origins {
			for _, req := range sampleOrigins(o, r) {
				if reason := originsOnly.Check("", req, ""); reason != "" {
					t.Fatalf("%q is named by accepted %q but refused (%s)", req, o, reason)
				}
				if reason := originsOnly.Check("", "", req+"/some/page"); reason != "" {
					t.Fatalf("a Referer on %q is named by accepted %q but refused (%s)", req, o, reason)
				}
			}
		}
		if len(stored.Origins) > 0 && originsOnly.Check("", reqOrigin, "") == "" {
			if !slices.ContainsFunc(stored.Origins, func(o string) bool { return originNames(o, reqOrigin) }) {
				t.Fatalf("Origin %q let in, named by none of %q", reqOrigin, stored.Origins)
			}
		}
	})
}

// v4Form is p with an IPv4-mapped prefix of /96 or longer in IPv4 form,
// which is how an IPv4 client's address is compared.
func v4Form(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p
}

// sampleAddrs returns the first, the last and one more address of p, each
// as the client it stands for: an IPv4-mapped prefix yields IPv4 addresses,
// and IPv4-mapped addresses inside a plain IPv6 prefix (an IPv4 client is
// never matched against one) are left out.
func sampleAddrs(p netip.Prefix, r uint64) []netip.Addr {
	p = v4Form(p.Masked())
	base := p.Addr().AsSlice()
	first, last, mid := slices.Clone(base), slices.Clone(base), slices.Clone(base)
	rnd := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, r*0x9e3779b97f4a7c15), r)
	for i := p.Bits(); i < len(base)*8; i++ {
		bit := byte(0x80 >> (i % 8))
		last[i/8] |= bit
		mid[i/8] |= rnd[i/8] & bit
	}
	var out []netip.Addr
	for _, b := range [][]byte{first, last, mid} {
		a, _ := netip.AddrFromSlice(b)
		if a.Is4In6() {
			continue
		}
		out = append(out, a)
	}
	return out
}

// sampleOrigins returns browser Origin values that stored pattern o names.
func sampleOrigins(o string, r uint64) []string {
	if suffix, ok := strings.CutPrefix(o, "*."); ok {
		return []string{"https://x." + suffix, "https://a.b." + suffix + ":8443"}
	}
	out := []string{o}
	if host, ok := strings.CutSuffix(o, ":443"); ok {
		out = append(out, host)
	} else if !strings.Contains(strings.TrimPrefix(o, "https://"), ":") {
		out = append(out, o+":443")
	}
	return out
}

// originNames is the origin rule stated independently: an https origin,
// without user info, whose lower-case host and port (443 by default) are the
// pattern's, or whose host is a subdomain of a *.suffix pattern.
func originNames(pattern, origin string) bool {
	u, err := url.Parse(strings.TrimSpace(origin))
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.User != nil {
		return false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = "443"
	}
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	ph, pp, ok := strings.Cut(strings.TrimPrefix(pattern, "https://"), ":")
	if !ok {
		pp = "443"
	}
	return host == ph && port == pp
}
