package tenantapi_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/tenantapi"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

type stack struct {
	keys     *keywardtest.Stack
	platform apikey.Caller
	router   *apigw.Router
	logs     *keywardtest.LogBuffer
	secrets  []string
}

// newStack is the tenants function over real DynamoDB Local tables, with the
// operator tenant's platform key stored under keywardtest.PlatformKeyID.
func newStack(t *testing.T) *stack {
	t.Helper()
	keys := keywardtest.Keys(t)
	s := &stack{keys: keys, logs: &keywardtest.LogBuffer{}}
	s.platform = keys.StorePlatform(t)
	s.router = apigw.NewRouter(s.logs.Logger(), tenantapi.Routes(keys.Service)...)
	s.logs.CheckNoSecrets(t, &s.secrets)
	return s
}

type response struct {
	events.APIGatewayProxyResponse
	body map[string]any
}

func (s *stack) serve(t *testing.T, req events.APIGatewayProxyRequest) response {
	t.Helper()
	resp, err := s.router.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	r := response{APIGatewayProxyResponse: resp}
	if err := json.Unmarshal([]byte(resp.Body), &r.body); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	if dk, ok := r.body["defaultKey"].(map[string]any); ok {
		tok, _ := dk["token"].(string)
		sec, _ := dk["secret"].(string)
		s.secrets = append(s.secrets, tok, sec)
	}
	return r
}

func (r response) error() (code, field string) {
	e, _ := r.body["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	return code, field
}

// TestEventFixtures feeds every events/tenants-*.json to the tenants
// function's router, with tenant acme bootstrapped, and checks each outcome.
func TestEventFixtures(t *testing.T) {
	type outcome struct {
		status      int
		code, field string
		check       func(t *testing.T, r response)
	}
	want := map[string]outcome{
		"tenants-create.json": {status: 201, check: func(t *testing.T, r response) {
			dk, _ := r.body["defaultKey"].(map[string]any)
			if r.body["id"] != "northwind" || r.body["status"] != "active" || r.body["createdBy"] != "user:ops@platform.example" ||
				r.body["createdByKeyId"] != keywardtest.PlatformKeyID || dk["token"] == nil || dk["tenantId"] != "northwind" {
				t.Errorf("created: %s", r.Body)
			}
			if scopes, _ := dk["scopes"].([]any); len(scopes) != 1 || scopes[0] != "keys:admin" {
				t.Errorf("a tenant's default key holds %v, want keys:admin alone", scopes)
			}
		}},
		"tenants-create-invalid-id.json": {status: 400, code: "invalid_request", field: "id"},
		"tenants-create-forbidden.json":  {status: 403, code: "forbidden"},
		"tenants-list.json": {status: 200, check: func(t *testing.T, r response) {
			if items, _ := r.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != "acme" {
				t.Errorf("list: %s", r.Body)
			}
		}},
		"tenants-get.json": {status: 200, check: func(t *testing.T, r response) {
			if r.body["id"] != "acme" || r.Headers["ETag"] != `"1"` {
				t.Errorf("get: %v %s", r.Headers, r.Body)
			}
		}},
		"tenants-get-missing.json": {status: 404, code: "not_found"},
		"tenants-suspend.json": {status: 200, check: func(t *testing.T, r response) {
			if r.body["status"] != "suspended" || r.body["suspendedAt"] == nil || r.body["version"] != 2.0 {
				t.Errorf("suspend: %s", r.Body)
			}
		}},
		"tenants-resume.json": {status: 200, check: func(t *testing.T, r response) {
			if r.body["status"] != "active" || r.body["version"] != 1.0 { // acme was active: unchanged
				t.Errorf("resume: %s", r.Body)
			}
		}},
		"tenants-suspend-operator.json": {status: 409, code: "conflict"},
	}
	files := keywardtest.EventFixtures(t, "tenants-*.json")
	keywardtest.FeedEvents(t, files, want, func(t *testing.T, name string, raw []byte, w outcome) {
		s := newStack(t)
		s.keys.Bootstrap(t, "acme", "system:test")
		var req events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatal(err)
		}
		r := s.serve(t, req)
		if r.StatusCode != w.status {
			t.Fatalf("status = %d, want %d: %s", r.StatusCode, w.status, r.Body)
		}
		if code, field := r.error(); w.code != "" && (code != w.code || field != w.field) {
			t.Errorf("error = %s %s, want %s %s", code, field, w.code, w.field)
		}
		if w.check != nil {
			w.check(t, r)
		}
	})
}

// TestSuspensionRefusesEveryKeyOfTheTenantAndNoOther suspends a tenant: every
// key of it, default or not, verifies as TENANT_SUSPENDED without one key
// item written; another tenant's keys stay valid; resuming makes them valid.
func TestSuspensionRefusesEveryKeyOfTheTenantAndNoOther(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	svc := s.keys.Service
	acmeAdmin, acmeDefault := s.keys.Bootstrap(t, "acme", "system:test")
	_, globexDefault := s.keys.Bootstrap(t, "globex", "system:test")
	var acmeKeys []*apikey.Issued
	for _, name := range []string{"one", "two", "three"} {
		iss, err := svc.Create(ctx, acmeAdmin, apikey.CreateInput{Name: name, Scopes: []string{"keys:read"}})
		if err != nil {
			t.Fatal(err)
		}
		acmeKeys = append(acmeKeys, iss)
	}
	acmeKeys = append(acmeKeys, acmeDefault)
	verify := func(iss *apikey.Issued) apikey.VerifyCode {
		t.Helper()
		_, code, err := svc.Verify(ctx, iss.ID, iss.Secret)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	before := s.keys.Store
	versions := map[string]int64{}
	for _, k := range acmeKeys {
		got, err := before.GetKey(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		versions[k.ID] = got.Version
	}

	if _, err := svc.SetTenantStatus(ctx, s.platform, "acme", apikey.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	for _, k := range acmeKeys {
		if got := verify(k); got != apikey.CodeTenantSuspended {
			t.Errorf("%s of suspended acme verifies %s, want TENANT_SUSPENDED", k.Name, got)
		}
		if got, _ := s.keys.Store.GetKey(ctx, k.ID); got.Version != versions[k.ID] {
			t.Errorf("suspension wrote key %s (version %d → %d)", k.Name, versions[k.ID], got.Version)
		}
	}
	if got := verify(globexDefault); got != apikey.CodeValid {
		t.Errorf("globex's key verifies %s while acme is suspended, want VALID", got)
	}
	if _, err := svc.Create(ctx, acmeAdmin, apikey.CreateInput{Name: "during", Scopes: []string{"keys:read"}}); apikey.ErrorCode(err) != apikey.ECodeUnauthorized {
		t.Errorf("acme's admin creates while suspended: %v, want unauthorized", err)
	}

	if _, err := svc.SetTenantStatus(ctx, s.platform, "acme", apikey.TenantActive); err != nil {
		t.Fatal(err)
	}
	for _, k := range acmeKeys {
		if got := verify(k); got != apikey.CodeValid {
			t.Errorf("%s of resumed acme verifies %s, want VALID", k.Name, got)
		}
	}
}

// TestOnlyPlatformKeysAdministerTenants: tenants:admin works only for keys of
// the operator tenant acting in it, and tenants:* never leaves it.
func TestOnlyPlatformKeysAdministerTenants(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	svc := s.keys.Service
	acmeAdmin, _ := s.keys.Bootstrap(t, "acme", "system:test")

	outsider := acmeAdmin
	outsider.Scopes = []string{apikey.ScopeTenantsAdmin}
	if _, err := svc.CreateTenant(ctx, outsider, apikey.CreateTenantInput{ID: "evil", Name: "Evil"}); apikey.ErrorCode(err) != apikey.ECodeForbidden {
		t.Errorf("a tenants:admin key of acme creates a tenant: %v, want forbidden", err)
	}
	acting := s.platform
	acting.TenantID = "acme"
	if _, err := svc.ListTenants(ctx, acting, 0, ""); apikey.ErrorCode(err) != apikey.ECodeForbidden {
		t.Errorf("a platform key acting in acme lists tenants: %v, want forbidden", err)
	}
	_, err := svc.Create(ctx, acting, apikey.CreateInput{Name: "acme platform", Scopes: []string{apikey.ScopeTenantsAct}})
	if e, _ := apikey.AsError(err); e == nil || e.Code != apikey.ECodeForbidden || e.Field != "scopes" {
		t.Errorf("grant tenants:act to a key of acme: %v, want forbidden naming scopes", err)
	}
	iss, err := svc.Create(ctx, acting, apikey.CreateInput{Name: "acme console", Scopes: []string{apikey.ScopeActorsAssert, "keys:read"}})
	if err != nil || iss.TenantID != "acme" {
		t.Fatalf("grant actors:assert to a key of acme: %v", err)
	}
	s.secrets = append(s.secrets, iss.Secret, iss.Token)
	if _, err := svc.Create(ctx, acmeAdmin, apikey.CreateInput{Name: "console", Scopes: []string{apikey.ScopeActorsAssert}}); apikey.ErrorCode(err) != apikey.ECodeForbidden {
		t.Errorf("keys:admin grants actors:assert it does not hold: %v, want forbidden", err)
	}
	nowhere := s.platform
	nowhere.TenantID = "nosuch"
	_, err = svc.Create(ctx, nowhere, apikey.CreateInput{Name: "ghost", Scopes: []string{"keys:read"}})
	if e, _ := apikey.AsError(err); e == nil || e.Code != apikey.ECodeNotFound || e.Field != "Keyward-Tenant" {
		t.Errorf("act in a tenant that does not exist: %v, want not_found naming Keyward-Tenant", err)
	}
}

// TestTenantsListNewestFirstAcrossPages lists tenants in pages.
func TestTenantsListNewestFirstAcrossPages(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	svc := s.keys.Service
	var made []string
	for _, id := range []string{"t-one", "t-two", "t-three"} {
		ct, err := svc.CreateTenant(ctx, s.platform, apikey.CreateTenantInput{ID: id, Name: id})
		if err != nil {
			t.Fatal(err)
		}
		s.secrets = append(s.secrets, ct.DefaultKey.Secret, ct.DefaultKey.Token)
		made = append([]string{id}, made...)
	}
	var got []string
	cursor := ""
	for pages := 0; pages < 5; pages++ {
		p, err := svc.ListTenants(ctx, s.platform, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			got = append(got, it.ID)
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if !slices.Equal(got, made) {
		t.Errorf("tenants = %v, want %v (newest first)", got, made)
	}
	if _, err := svc.ListTenants(ctx, s.platform, 2, cursor+"x"); apikey.ErrorCode(err) != apikey.ECodeInvalid {
		t.Errorf("tampered cursor: %v, want invalid_request", err)
	}
}

// TestConcurrentCreatesMakeOneTenant: the database decides, not a read
// before the write: of racing creates of one tenant exactly one succeeds,
// the others are tenant_exists, and the tenant has one default key.
func TestConcurrentCreatesMakeOneTenant(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ct, err := s.keys.Service.CreateTenant(ctx, s.platform, apikey.CreateTenantInput{ID: "racy", Name: "Racy"})
			errs[i] = err
			if err == nil {
				mu.Lock()
				s.secrets = append(s.secrets, ct.DefaultKey.Secret, ct.DefaultKey.Token)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch code := apikey.ErrorCode(err); {
		case err == nil:
			won++
		case code != apikey.ECodeTenantAlreadyExists && code != apikey.ECodeUnavailable:
			t.Errorf("create: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creates succeeded, want 1 (%v)", won, errs)
	}
	p, err := s.keys.Service.List(ctx, apikey.Caller{TenantID: "racy", KeyTenantID: s.platform.TenantID, KeyID: s.platform.KeyID,
		Scopes: s.platform.Scopes}, apikey.ListInput{})
	if err != nil || len(p.Items) != 1 || !p.Items[0].IsDefault {
		t.Errorf("racy's keys = %+v, %v; want its one default key", p, err)
	}
}
