package apikey

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/unicoderules"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newValidationService(keyTypes ...string) *Service {
	// Validation fails before any storage or hashing happens, so neither is needed.
	return NewService(nil, nil, unicoderules.Rules{}, Config{KeyTypes: keyTypes}, WithClock(func() time.Time { return testNow }))
}

var admin = Caller{TenantID: "acme", KeyID: "key_01JD0000000000000000000000", Scopes: []string{ScopeAdmin}}

func strp(s string) *string { return &s }

func many(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestCreateValidationNamesTheField(t *testing.T) {
	valid := func() CreateInput {
		return CreateInput{Name: "CRM sync", Scopes: []string{"recordings:read"}}
	}
	meta := func(n, klen, vlen int) map[string]string {
		m := map[string]string{}
		for i := 0; i < n; i++ {
			m[strings.Repeat("k", klen-1)+string(rune('a'+i%26))+strings.Repeat("x", i/26)] = strings.Repeat("v", vlen)
		}
		return m
	}
	tests := []struct {
		name  string
		edit  func(*CreateInput)
		field string
	}{
		{"EmptyNameIsRefused", func(in *CreateInput) { in.Name = "" }, "name"},
		{"BlankNameIsRefused", func(in *CreateInput) { in.Name = "   " }, "name"},
		{"NameOver128IsRefused", func(in *CreateInput) { in.Name = strings.Repeat("é", 129) }, "name"},
		{"NameWithControlCharacterIsRefused", func(in *CreateInput) { in.Name = "crm\x07sync" }, "name"},
		{"NameWithNewlineIsRefused", func(in *CreateInput) { in.Name = "crm\nsync" }, "name"},
		{"DescriptionOver1024IsRefused", func(in *CreateInput) { in.Description = strings.Repeat("d", 1025) }, "description"},
		{"DescriptionWithControlCharacterIsRefused", func(in *CreateInput) { in.Description = "a\x00b" }, "description"},
		{"TypeWithUpperCaseIsRefused", func(in *CreateInput) { in.Type = "Client" }, "type"},
		{"TypeStartingWithDigitIsRefused", func(in *CreateInput) { in.Type = "1client" }, "type"},
		{"TypeOver32IsRefused", func(in *CreateInput) { in.Type = "a" + strings.Repeat("b", 32) }, "type"},
		{"NoScopesIsRefused", func(in *CreateInput) { in.Scopes = nil }, "scopes"},
		{"Over64ScopesIsRefused", func(in *CreateInput) {
			in.Scopes = many(65, func(i int) string { return "s" + strings.Repeat("a", i) })
		}, "scopes"},
		{"MalformedScopeIsRefused", func(in *CreateInput) { in.Scopes = []string{"recordings:read", "Recordings"} }, "scopes[1]"},
		{"ScopeWithEmptySegmentIsRefused", func(in *CreateInput) { in.Scopes = []string{"recordings::read"} }, "scopes[0]"},
		{"Over64CIDRsIsRefused", func(in *CreateInput) {
			in.AllowList = &AllowList{IPs: many(65, func(i int) string { return "10.0.0." + strconv.Itoa(i) + "/32" })}
		}, "allowList.ips"},
		{"BadCIDRIsRefused", func(in *CreateInput) { in.AllowList = &AllowList{IPs: []string{"10.0.0.0/8", "10.0.0.300/24"}} }, "allowList.ips[1]"},
		{"BadIPv6CIDRIsRefused", func(in *CreateInput) { in.AllowList = &AllowList{IPs: []string{"2001:db8::/129"}} }, "allowList.ips[0]"},
		{"Over64OriginsIsRefused", func(in *CreateInput) {
			in.AllowList = &AllowList{Origins: many(65, func(i int) string { return "https://h" + strconv.Itoa(i) + ".example.com" })}
		}, "allowList.origins"},
		{"HTTPOriginIsRefused", func(in *CreateInput) { in.AllowList = &AllowList{Origins: []string{"http://crm.example.com"}} }, "allowList.origins[0]"},
		{"OriginWithPathIsRefused", func(in *CreateInput) { in.AllowList = &AllowList{Origins: []string{"https://crm.example.com/x"}} }, "allowList.origins[0]"},
		{"OriginWithBadPortIsRefused", func(in *CreateInput) { in.AllowList = &AllowList{Origins: []string{"https://crm.example.com:99999"}} }, "allowList.origins[0]"},
		{"BareWildcardOriginIsRefused", func(in *CreateInput) { in.AllowList = &AllowList{Origins: []string{"*.com"}} }, "allowList.origins[0]"},
		{"Over32MetadataEntriesIsRefused", func(in *CreateInput) { in.Metadata = meta(33, 2, 1) }, "metadata"},
		{"MetadataKeyOver64IsRefused", func(in *CreateInput) { in.Metadata = map[string]string{strings.Repeat("k", 65): "v"} }, "metadata"},
		{"EmptyMetadataKeyIsRefused", func(in *CreateInput) { in.Metadata = map[string]string{"": "v"} }, "metadata"},
		{"MetadataValueOver512IsRefused", func(in *CreateInput) { in.Metadata = map[string]string{"owner": strings.Repeat("v", 513)} }, "metadata.owner"},
		{"ExpiresAtInThePastIsRefused", func(in *CreateInput) { in.ExpiresAt = strp("2020-01-01T00:00:00Z") }, "expiresAt"},
		{"ExpiresAtNowIsRefused", func(in *CreateInput) { in.ExpiresAt = strp(testNow.Format(time.RFC3339)) }, "expiresAt"},
		{"ExpiresAtNotRFC3339IsRefused", func(in *CreateInput) { in.ExpiresAt = strp("tomorrow") }, "expiresAt"},
	}
	s := newValidationService()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.edit(&in)
			_, err := s.Create(context.Background(), admin, in)
			e, ok := AsError(err)
			if !ok {
				t.Fatalf("err = %v, want an invalid_request error", err)
			}
			if got, want := e.Code, ECodeInvalid; got != want {
				t.Fatalf("code = %q, want %q (%v)", got, want, err)
			}
			if got, want := e.Field, tt.field; got != want {
				t.Errorf("field = %q, want %q", got, want)
			}
			if !strings.Contains(e.Message, tt.field) {
				t.Errorf("message %q does not name the field %q", e.Message, tt.field)
			}
		})
	}
}

func TestLimitsAtTheBoundaryAreAccepted(t *testing.T) {
	in := CreateInput{
		Name:        strings.Repeat("é", 128),
		Description: strings.Repeat("d", 1024),
		Type:        "a" + strings.Repeat("b", 31),
		Scopes:      many(64, func(i int) string { return "s" + strings.Repeat("a", i) }),
		AllowList: &AllowList{
			IPs:     append(many(63, func(i int) string { return "10.0.0." + strconv.Itoa(i) + "/32" }), "2001:db8::/32"),
			Origins: append(many(63, func(i int) string { return "https://h" + strconv.Itoa(i) + ".example.com:8443" }), "*.example.com"),
		},
		Metadata:  map[string]string{strings.Repeat("k", 64): strings.Repeat("v", 512)},
		ExpiresAt: strp(testNow.Add(time.Second).Format(time.RFC3339)),
	}
	k, err := newValidationService().validateCreate(admin, in, testNow)
	if err != nil {
		t.Fatalf("validateCreate: %v", err)
	}
	if got, want := len(k.Scopes), 64; got != want {
		t.Errorf("scopes = %d, want %d", got, want)
	}
}

func TestTypeMustBeListedWhenKeyTypesAreSet(t *testing.T) {
	s := newValidationService("crm", "wfm")
	_, err := s.Create(context.Background(), admin, CreateInput{Name: "x", Type: "bi", Scopes: []string{"a"}})
	if e, ok := AsError(err); !ok || e.Field != "type" {
		t.Fatalf("err = %v, want invalid type", err)
	}
	k, err := s.validateCreate(admin, CreateInput{Name: "x", Scopes: []string{"a"}}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.Type, "crm"; got != want {
		t.Errorf("default type = %q, want %q (the first listed)", got, want)
	}
}

func TestAllowListIsNormalised(t *testing.T) {
	got, err := normalizeAllowList(text, AllowList{
		IPs:     []string{"203.0.113.7/24", "2001:DB8::1", "198.51.100.1"},
		Origins: []string{"HTTPS://CRM.Example.com", "*.Example.COM"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := AllowList{IPs: []string{"203.0.113.0/24", "2001:db8::1/128", "198.51.100.1/32"}, Origins: []string{"https://crm.example.com", "*.example.com"}}
	if g, w := strings.Join(got.IPs, ","), strings.Join(want.IPs, ","); g != w {
		t.Errorf("ips = %s, want %s", g, w)
	}
	if g, w := strings.Join(got.Origins, ","), strings.Join(want.Origins, ","); g != w {
		t.Errorf("origins = %s, want %s", g, w)
	}
}

func TestPatchValidationNamesTheField(t *testing.T) {
	raw := json.RawMessage(`"x"`)
	meta := map[string]string{"": "v"}
	tests := []struct {
		name  string
		in    PatchInput
		field string
	}{
		{"TypeCannotChange", PatchInput{Type: &raw}, "type"},
		{"ScopesCannotChange", PatchInput{Scopes: &raw}, "scopes"},
		{"EmptyNameIsRefused", PatchInput{Name: strp(" ")}, "name"},
		{"LongDescriptionIsRefused", PatchInput{Description: strp(strings.Repeat("d", 1025))}, "description"},
		{"BadMetadataIsRefused", PatchInput{Metadata: &meta}, "metadata"},
		{"BadOriginIsRefused", PatchInput{AllowList: &AllowList{Origins: []string{"ftp://x.example.com"}}}, "allowList.origins[0]"},
	}
	s := newValidationService()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Update(context.Background(), admin, "key_01JD0000000000000000000000", tt.in, nil)
			if e, ok := AsError(err); !ok || e.Code != ECodeInvalid || e.Field != tt.field {
				t.Fatalf("err = %v, want invalid_request naming %q", err, tt.field)
			}
		})
	}
}

func TestRotateGraceIsBounded(t *testing.T) {
	s := newValidationService()
	for _, g := range []int{-1, MaxGracePeriod + 1} {
		g := g
		_, err := s.Rotate(context.Background(), admin, "key_01JD0000000000000000000000", RotateInput{GracePeriodSeconds: &g}, nil)
		if e, ok := AsError(err); !ok || e.Field != "gracePeriodSeconds" {
			t.Errorf("grace %d: err = %v, want invalid gracePeriodSeconds", g, err)
		}
	}
}

func TestListValidationNamesTheField(t *testing.T) {
	s := newValidationService()
	tests := []struct {
		in    ListInput
		field string
	}{
		{ListInput{Limit: 101}, "limit"},
		{ListInput{Limit: -1}, "limit"},
		{ListInput{Status: "deleted"}, "status"},
		{ListInput{Type: "Bad"}, "type"},
		{ListInput{Q: strings.Repeat("q", 129)}, "q"},
	}
	for _, tt := range tests {
		_, err := s.List(context.Background(), admin, tt.in)
		if e, ok := AsError(err); !ok || e.Field != tt.field {
			t.Errorf("%+v: err = %v, want invalid %q", tt.in, err, tt.field)
		}
	}
}

func TestBatchRevokeNeedsOneToHundredIDs(t *testing.T) {
	s := newValidationService()
	for _, n := range []int{0, 101} {
		_, err := s.BatchRevoke(context.Background(), admin, many(n, func(i int) string { return "key_x" }))
		if e, ok := AsError(err); !ok || e.Field != "ids" {
			t.Errorf("%d ids: err = %v, want invalid ids", n, err)
		}
	}
}

func TestTenantIDRule(t *testing.T) {
	for id, want := range map[string]bool{"acme": true, "a": false, "Acme": false, "-acme": false, "acme-2": true, strings.Repeat("a", 63): true, strings.Repeat("a", 64): false} {
		if got := ValidTenantID(id); got != want {
			t.Errorf("ValidTenantID(%q) = %v, want %v", id, got, want)
		}
	}
}

// TestRouteScopesBoundNewKeys: with RouteScopes set, a new key holds only
// keyward's scopes and scopes covering a route's; a typo names the scope.
func TestRouteScopesBoundNewKeys(t *testing.T) {
	routes := []string{"recordings:read", "recordings:audio"}
	for _, c := range []struct {
		scopes []string
		bad    string
	}{
		{scopes: []string{"recordings:read", "keys:read", "audit:read"}},
		{scopes: []string{"recordings:*"}},
		{scopes: []string{"recordings:read", "recording:read"}, bad: "scopes[1]"},
		{scopes: []string{"billing:read"}, bad: "scopes[0]"},
	} {
		err := checkKnownScopes(c.scopes, routes)
		if c.bad == "" && err != nil {
			t.Errorf("%v refused: %v", c.scopes, err)
		}
		if c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)) {
			t.Errorf("%v: err = %v, want one naming %s", c.scopes, err, c.bad)
		}
	}
	if err := checkKnownScopes([]string{"anything:goes"}, nil); err != nil {
		t.Errorf("without RouteScopes any scope is accepted: %v", err)
	}
}

// text is the Unicode rules every function that validates names uses.
var text = unicoderules.Rules{}
