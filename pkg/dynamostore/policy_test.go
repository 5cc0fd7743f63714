package dynamostore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func ptr[T any](v T) *T { return &v }

// wantInvalid fails unless err is invalid_request naming field and rule.
func wantInvalid(t *testing.T, err error, field, rule string) {
	t.Helper()
	e, ok := apikey.AsError(err)
	if !ok || e.Code != apikey.ECodeInvalid || e.Field != field || !strings.Contains(e.Message, rule) {
		t.Fatalf("err = %v, want invalid_request on %s naming %s", err, field, rule)
	}
}

func TestPolicyIsEnforcedOnCreateEditAndRotate(t *testing.T) {
	ctx := context.Background()
	clk := keywardtest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	s := keywardtest.Keys(t, keywardtest.WithClock(clk))
	admin, _ := s.Bootstrap(t, "acme", "bootstrap")

	if p, err := s.Service.GetPolicy(ctx, admin); err != nil || p.LeakAction != apikey.LeakRevoke || p.UnusedDays != 90 || p.Version != 0 {
		t.Fatalf("default policy = %+v, %v", p, err)
	}
	p, err := s.Service.PutPolicy(ctx, admin, apikey.Policy{
		MaxLifetimeDays: ptr(30), AllowedTypes: []string{"client", "ci"}, DefaultRotationGraceSeconds: ptr(600),
		RequireAllowList: true, LeakAction: apikey.LeakFlag,
	}, nil)
	if err != nil || p.Version != 1 || *p.UpdatedBy != admin.KeyID {
		t.Fatalf("PutPolicy = %+v, %v", p, err)
	}
	allow := &apikey.AllowList{IPs: []string{"203.0.113.0/24"}}

	t.Run("TypeOutsideAllowedTypes", func(t *testing.T) {
		_, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "x", Type: "server", Scopes: []string{"keys:read"}, AllowList: allow})
		wantInvalid(t, err, "type", "allowedTypes")
	})
	t.Run("NoAllowList", func(t *testing.T) {
		_, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "x", Scopes: []string{"keys:read"}})
		wantInvalid(t, err, "allowList", "requireAllowList")
	})
	t.Run("ExpiryBeyondTheMaximum", func(t *testing.T) {
		_, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "x", Scopes: []string{"keys:read"}, AllowList: allow, ExpiresIn: ptr("31d")})
		wantInvalid(t, err, "expiresAt", "maxLifetimeDays")
	})
	t.Run("BothExpiresAtAndExpiresIn", func(t *testing.T) {
		_, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "x", Scopes: []string{"keys:read"}, AllowList: allow, ExpiresIn: ptr("1d"), ExpiresAt: ptr("2027-01-01T00:00:00Z")})
		wantInvalid(t, err, "expiresIn", "not both")
	})
	t.Run("MalformedExpiresIn", func(t *testing.T) {
		_, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "x", Scopes: []string{"keys:read"}, AllowList: allow, ExpiresIn: ptr("3 weeks")})
		wantInvalid(t, err, "expiresIn", "90d")
	})
	t.Run("NoExpiryGetsTheMaximum", func(t *testing.T) {
		iss, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "max", Scopes: []string{"keys:read"}, AllowList: allow})
		if err != nil {
			t.Fatal(err)
		}
		if want := clk.Now().Add(30 * 24 * time.Hour); iss.ExpiresAt == nil || !iss.ExpiresAt.Equal(want) {
			t.Fatalf("expiresAt = %v, want %v", iss.ExpiresAt, want)
		}
		// Emptying the allow-list is refused by the policy.
		_, err = s.Service.Update(ctx, admin, iss.ID, apikey.PatchInput{AllowList: &apikey.AllowList{}}, nil)
		wantInvalid(t, err, "allowList", "requireAllowList")
		// A rotation without a grace gets the policy's.
		rot, err := s.Service.Rotate(ctx, admin, iss.ID, apikey.RotateInput{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := clk.Now().Add(600 * time.Second); rot.PreviousSecretExpiresAt == nil || !rot.PreviousSecretExpiresAt.Equal(want) {
			t.Fatalf("previousSecretExpiresAt = %v, want %v", rot.PreviousSecretExpiresAt, want)
		}
	})
	t.Run("ExpiresInSetsExpiry", func(t *testing.T) {
		iss, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "in", Scopes: []string{"keys:read"}, AllowList: allow, ExpiresIn: ptr("7d")})
		if err != nil {
			t.Fatal(err)
		}
		if want := clk.Now().Add(7 * 24 * time.Hour); !iss.ExpiresAt.Equal(want) {
			t.Fatalf("expiresAt = %v, want %v", iss.ExpiresAt, want)
		}
	})
}

func TestPolicyWritesAreValidatedVersionedAndTenantScoped(t *testing.T) {
	ctx := context.Background()
	s := keywardtest.Keys(t)
	admin, _ := s.Bootstrap(t, "acme", "bootstrap")
	other, _ := s.Bootstrap(t, "globex", "bootstrap")

	for _, tc := range []struct {
		name  string
		in    apikey.Policy
		field string
	}{
		{"MaxLifetimeZero", apikey.Policy{MaxLifetimeDays: ptr(0)}, "maxLifetimeDays"},
		{"BadType", apikey.Policy{AllowedTypes: []string{"Bad Type"}}, "allowedTypes"},
		{"GraceTooLong", apikey.Policy{DefaultRotationGraceSeconds: ptr(604801)}, "defaultRotationGraceSeconds"},
		{"LeakActionUnknown", apikey.Policy{LeakAction: "ignore"}, "leakAction"},
		{"ReminderOutOfRange", apikey.Policy{ExpiringDays: []int{0}}, "expiringDays"},
		{"UnusedTooLong", apikey.Policy{UnusedDays: 1000}, "unusedDays"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Service.PutPolicy(ctx, admin, tc.in, nil)
			if e, ok := apikey.AsError(err); !ok || e.Code != apikey.ECodeInvalid || e.Field != tc.field {
				t.Fatalf("err = %v, want invalid_request on %s", err, tc.field)
			}
		})
	}
	if p, _ := s.Service.GetPolicy(ctx, admin); p.Version != 0 {
		t.Fatalf("a refused policy was stored: %+v", p)
	}
	if _, err := s.Service.PutPolicy(ctx, admin, apikey.Policy{RequireExpiry: true}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Service.PutPolicy(ctx, admin, apikey.Policy{}, ptr(int64(0))); apikey.ErrorCode(err) != apikey.ECodePreconditionFailed {
		t.Fatalf("stale If-Match: err = %v", err)
	}
	if p, _ := s.Service.GetPolicy(ctx, other); p.RequireExpiry || p.Version != 0 {
		t.Fatalf("another tenant sees acme's policy: %+v", p)
	}
	reader := apikey.Caller{TenantID: "acme", KeyID: admin.KeyID, Scopes: []string{"keys:write"}}
	if _, err := s.Service.GetPolicy(ctx, reader); apikey.ErrorCode(err) != apikey.ECodeForbidden {
		t.Fatalf("keys:write reads the policy: %v", err)
	}
}
