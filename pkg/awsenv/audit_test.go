package awsenv_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditstore"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
)

func TestReadAuditSettings(t *testing.T) {
	cases := []struct {
		name          string
		env           map[string]string
		wantErr       string
		wantRetention time.Duration
	}{
		{name: "DefaultRetentionIs400Days", env: map[string]string{"AUDIT_TABLE": "audit"}, wantRetention: 400 * 24 * time.Hour},
		{name: "RetentionIsRead", env: map[string]string{"AUDIT_TABLE": "audit", "AUDIT_RETENTION_DAYS": " 30 "}, wantRetention: 30 * 24 * time.Hour},
		{name: "MissingTableIsRefused", env: map[string]string{"AUDIT_RETENTION_DAYS": "30"}, wantErr: "AUDIT_TABLE"},
		{name: "ZeroRetentionIsRefused", env: map[string]string{"AUDIT_TABLE": "audit", "AUDIT_RETENTION_DAYS": "0"}, wantErr: "AUDIT_RETENTION_DAYS"},
		{name: "TooLongRetentionIsRefused", env: map[string]string{"AUDIT_TABLE": "audit", "AUDIT_RETENTION_DAYS": "3651"}, wantErr: "AUDIT_RETENTION_DAYS"},
		{name: "NonNumericRetentionIsRefused", env: map[string]string{"AUDIT_TABLE": "audit", "AUDIT_RETENTION_DAYS": "1y"}, wantErr: "AUDIT_RETENTION_DAYS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := awsenv.ReadAuditSettings(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || s.Table != "audit" || s.Retention != tc.wantRetention {
				t.Fatalf("settings %+v, %v; want table audit, retention %v", s, err, tc.wantRetention)
			}
		})
	}
	t.Run("TheQueryFunctionNeedsOnlyTheTable", func(t *testing.T) {
		s, err := awsenv.ReadAuditTable(func(k string) string { return map[string]string{"AUDIT_TABLE": "audit"}[k] })
		if err != nil || s.Table != "audit" || s.Retention != 0 {
			t.Fatalf("settings %+v, %v", s, err)
		}
		if _, err := awsenv.ReadAuditTable(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "AUDIT_TABLE") {
			t.Fatalf("err = %v, want one naming AUDIT_TABLE", err)
		}
	})
}

// TestAuditStreamWiringWritesToTheAuditTable wires the auditstream
// function's store from the environment of a local run (no keys table, no
// KMS key) and appends a record through it.
func TestAuditStreamWiringWritesToTheAuditTable(t *testing.T) {
	tables := ddblocaltest.Tables(t)
	getenv := localEnv(ddblocaltest.Shared(t).Endpoint, "", map[string]string{
		"AUDIT_TABLE": tables["AuditTable"], "AUDIT_RETENTION_DAYS": "7",
	})
	defer slog.SetDefault(slog.Default())

	base, err := awsenv.LoadBase(getenv)
	if err != nil {
		t.Fatal(err)
	}
	as, err := awsenv.ReadAuditSettings(getenv)
	if err != nil || as.Retention != 7*24*time.Hour {
		t.Fatalf("audit settings %+v, %v", as, err)
	}
	store := auditstore.New(dynamodb.NewFromConfig(base.AWS), as.Table, as.Retention)
	rec := audit.Record{
		ID: audit.RecordID("e", "1"), TenantID: "acme", KeyID: "key_01JD6B0C3XH5Q2M9T7R4W8N1PA",
		Action: audit.ActionCreated, Actor: "bootstrap", At: time.Now().UTC(),
	}
	if wrote, err := store.Put(context.Background(), rec); err != nil || !wrote {
		t.Fatalf("put: %v, %v", wrote, err)
	}
	got, _, err := store.Query(context.Background(), audit.Query{TenantID: "acme", Limit: 1})
	if err != nil || len(got) != 1 || got[0].ID != rec.ID {
		t.Fatalf("query: %+v, %v", got, err)
	}
}
