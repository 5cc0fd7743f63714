package dynamostore_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/kmspepper"
)

func strp(s string) *string { return &s }
func i64p(i int64) *int64   { return &i }
func intp(i int) *int       { return &i }

// secrets collects every secret and token the tests were given, to prove
// later that none of them was stored or logged.
type secrets struct {
	mu   sync.Mutex
	vals []string
}

func (s *secrets) add(iss *apikey.Issued) {
	s.mu.Lock()
	s.vals = append(s.vals, iss.Secret, iss.Token)
	s.mu.Unlock()
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	seen := &secrets{}
	admin, adminKey := st.bootstrap(t, "acme")
	seen.add(adminKey)

	// Create.
	exp := st.clock.Now().Add(48 * time.Hour).Format(time.RFC3339)
	created, err := st.svc.Create(ctx, admin, apikey.CreateInput{
		Name: "CRM sync", Description: "nightly", Type: "client", Scopes: []string{"recordings:read"},
		AllowList: &apikey.AllowList{IPs: []string{"203.0.113.0/24"}, Origins: []string{"https://crm.example.com"}},
		Metadata:  map[string]string{"owner": "ops"}, ExpiresAt: &exp,
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	seen.add(created)
	if !strings.HasPrefix(created.Token, "kw_") || created.Secret == "" || created.Version != 1 || created.Status != apikey.StatusActive {
		t.Fatalf("create returned %+v", created.Key)
	}
	if created.CreatedBy != admin.KeyID || created.UpdatedBy != admin.KeyID {
		t.Errorf("createdBy/updatedBy = %s/%s, want %s", created.CreatedBy, created.UpdatedBy, admin.KeyID)
	}
	id := created.ID

	// The secret verifies; a wrong one does not.
	if _, c, err := st.svc.Verify(ctx, id, created.Secret); err != nil || c != apikey.CodeValid {
		t.Fatalf("verify new secret = %s, %v", c, err)
	}
	if _, c, _ := st.svc.Verify(ctx, id, strings.Repeat("A", apikey.SecretLen)); c != apikey.CodeInvalidSecret {
		t.Fatalf("verify wrong secret = %s", c)
	}

	// Get.
	got, err := st.svc.Get(ctx, admin, id)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Name != "CRM sync" || got.Metadata["owner"] != "ops" || got.AllowList.IPs[0] != "203.0.113.0/24" || got.ExpiresAt == nil {
		t.Fatalf("get returned %+v", got)
	}

	// List (newest first) and search (case-insensitive prefix).
	page, err := st.svc.List(ctx, admin, apikey.ListInput{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(page.Items) != 2 || page.Items[0].ID != id || page.Items[1].ID != adminKey.ID || page.NextCursor != nil {
		t.Fatalf("list = %d items, want the new key then the default key", len(page.Items))
	}
	for _, q := range []string{"crm", "CRM S", "crm sync"} {
		page, err = st.svc.List(ctx, admin, apikey.ListInput{Q: q})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != id {
			t.Fatalf("search %q = %+v, %v", q, page, err)
		}
	}
	if page, _ = st.svc.List(ctx, admin, apikey.ListInput{Q: "sync"}); len(page.Items) != 0 {
		t.Fatalf("search is a prefix search; got %d items for a middle word", len(page.Items))
	}

	// Edit, with If-Match.
	edited, err := st.svc.Update(ctx, admin, id, apikey.PatchInput{Name: strp("CRM sync (EU)"), Description: strp("hourly")}, i64p(1))
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if edited.Name != "CRM sync (EU)" || edited.Version != 2 {
		t.Fatalf("edit returned %+v", edited)
	}
	if _, err := st.svc.Update(ctx, admin, id, apikey.PatchInput{Description: strp("x")}, i64p(1)); code(err) != apikey.ECodePreconditionFailed {
		t.Fatalf("stale If-Match: err = %v, want precondition_failed", err)
	}
	later := st.clock.Now().Add(72 * time.Hour).Format(time.RFC3339)
	if _, err := st.svc.Update(ctx, admin, id, apikey.PatchInput{ExpiresAt: &later}, nil); code(err) != apikey.ECodeInvalid {
		t.Fatalf("extending expiry: err = %v, want invalid_request", err)
	}

	// Rotate with a grace period: both secrets work until it ends.
	rotated, err := st.svc.Rotate(ctx, admin, id, apikey.RotateInput{GracePeriodSeconds: intp(3600)}, nil)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	seen.add(rotated)
	if rotated.Secret == created.Secret || rotated.PreviousSecretExpiresAt == nil || rotated.RotatedAt == nil {
		t.Fatalf("rotate returned %+v", rotated.Key)
	}
	for _, sec := range []string{created.Secret, rotated.Secret} {
		if _, c, err := st.svc.Verify(ctx, id, sec); err != nil || c != apikey.CodeValid {
			t.Fatalf("during grace: verify = %s, %v", c, err)
		}
	}
	st.clock.Advance(3599 * time.Second)
	if _, c, _ := st.svc.Verify(ctx, id, created.Secret); c != apikey.CodeValid {
		t.Fatalf("1s before grace ends: old secret = %s, want VALID", c)
	}
	st.clock.Advance(time.Second)
	if _, c, _ := st.svc.Verify(ctx, id, created.Secret); c != apikey.CodeInvalidSecret {
		t.Fatalf("grace over: old secret = %s, want INVALID_SECRET", c)
	}
	if _, c, _ := st.svc.Verify(ctx, id, rotated.Secret); c != apikey.CodeValid {
		t.Fatalf("grace over: new secret = %s, want VALID", c)
	}

	// Rotate with no grace: the old secret stops at once.
	again, err := st.svc.Rotate(ctx, admin, id, apikey.RotateInput{}, nil)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	seen.add(again)
	if _, c, _ := st.svc.Verify(ctx, id, rotated.Secret); c != apikey.CodeInvalidSecret {
		t.Fatalf("no grace: previous secret = %s, want INVALID_SECRET", c)
	}

	// Revoke, idempotently.
	revoked, err := st.svc.Revoke(ctx, admin, id)
	if err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if revoked.Status != apikey.StatusRevoked || revoked.RevokedAt == nil || *revoked.RevokedBy != admin.KeyID {
		t.Fatalf("revoke returned %+v", revoked)
	}
	if again, err := st.svc.Revoke(ctx, admin, id); err != nil || again.Version != revoked.Version {
		t.Fatalf("second revoke = %+v, %v; want the same key unchanged", again, err)
	}
	if _, c, _ := st.svc.Verify(ctx, id, again.Secret); c != apikey.CodeRevoked {
		t.Fatalf("revoked key verifies as %s", c)
	}
	if _, err := st.svc.Rotate(ctx, admin, id, apikey.RotateInput{}, nil); code(err) != apikey.ECodeConflict {
		t.Fatalf("rotating a revoked key: err = %v, want conflict", err)
	}
	stored, err := st.store.GetKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantPurge := revoked.RevokedAt.Add(90 * 24 * time.Hour).Truncate(time.Second)
	if !stored.PurgeAt.Equal(wantPurge) {
		t.Errorf("purge at %v, want %v (RevokedRetentionDays)", stored.PurgeAt, wantPurge)
	}

	// An expiring key, then list by status.
	soon := st.clock.Now().Add(time.Minute).Format(time.RFC3339)
	exp1, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "short-lived", Scopes: []string{"recordings:read"}, ExpiresAt: &soon})
	if err != nil {
		t.Fatal(err)
	}
	seen.add(exp1)
	st.clock.Advance(time.Minute)
	if _, c, _ := st.svc.Verify(ctx, exp1.ID, exp1.Secret); c != apikey.CodeExpired {
		t.Fatalf("key at exactly expiresAt verifies as %s, want EXPIRED", c)
	}
	for status, want := range map[string]string{"active": adminKey.ID, "revoked": id, "expired": exp1.ID} {
		page, err := st.svc.List(ctx, admin, apikey.ListInput{Status: status})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || page.Items[0].ID != want || string(page.Items[0].Status) != status {
			t.Errorf("status=%s: got %d items, want only %s", status, len(page.Items), want)
		}
	}

	// Audit fields on the item: actor, request ID and source IP.
	if stored.Change.Actor != admin.KeyID || stored.Change.RequestID != admin.RequestID || stored.Change.SourceIP != admin.SourceIP {
		t.Errorf("stored change = %+v", stored.Change)
	}

	assertNoSecretsAtRest(t, st, seen.vals)
}

// assertNoSecretsAtRest scans the table (a test may scan) and the captured
// logs for any secret, token or the plaintext pepper, in any common encoding.
func assertNoSecretsAtRest(t *testing.T, st *stack, vals []string) {
	t.Helper()
	ctx := context.Background()
	var dump strings.Builder
	var peppers [][]byte
	p := dynamodb.NewScanPaginator(st.db, &dynamodb.ScanInput{TableName: &st.table})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(item, &m); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&dump, "%v\n", m)
			if m["pk"] == "PEPPER" {
				out, err := st.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: m["ciphertext"].([]byte), EncryptionContext: kmspepper.EncryptionContext()})
				if err != nil {
					t.Fatalf("decrypt stored pepper: %v", err)
				}
				peppers = append(peppers, out.Plaintext)
			}
		}
	}
	if len(peppers) == 0 {
		t.Fatal("no pepper item found")
	}
	needles := append([]string(nil), vals...)
	for _, pl := range peppers {
		needles = append(needles, string(pl), hex.EncodeToString(pl), base64.StdEncoding.EncodeToString(pl), base64.RawURLEncoding.EncodeToString(pl))
	}
	haystacks := map[string]string{"table": dump.String(), "logs": logs.String()}
	for where, hay := range haystacks {
		for _, n := range needles {
			if n != "" && strings.Contains(hay, n) {
				t.Errorf("%s contains secret material", where)
			}
		}
	}
}
