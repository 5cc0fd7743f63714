package auditstream_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditstore"
	"github.com/keyward/keyward/pkg/auditstream"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// Key IDs the stream fixtures use.
const (
	fixtureDefault = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z"
	fixtureKey     = "key_01JD6B0C3XH5Q2M9T7R4W8N1PA"
)

// TestEventFixtures feeds every events/auditstream-*.json (stream batches as
// the event source mapping delivers them) to the handler, against a fresh
// audit table, and checks the records written and the records reported.
func TestEventFixtures(t *testing.T) {
	type outcome struct {
		records []string // "action keyId actor", newest first
		failed  []string // reported sequence numbers
		check   func(t *testing.T, recs []audit.Record)
		trail   string // whose trail holds them: acme's unless set
	}
	want := map[string]outcome{
		"auditstream-insert.json": {records: []string{"key.created " + fixtureKey + " " + fixtureDefault},
			check: func(t *testing.T, recs []audit.Record) {
				r := recs[0]
				if r.RequestID == nil || *r.RequestID != "req-create" || r.SourceIP == nil || *r.SourceIP != "198.51.100.7" ||
					!r.At.Equal(time.Date(2026, 11, 23, 12, 0, 1, 0, time.UTC)) || r.Changes["name"].To != "CRM sync" {
					t.Errorf("created: %+v", r)
				}
			}},
		"auditstream-modify.json": {records: []string{"key.updated " + fixtureKey + " " + fixtureDefault},
			check: func(t *testing.T, recs []audit.Record) {
				if c := recs[0].Changes; len(c) != 1 || c["name"].From != "CRM sync" || c["name"].To != "CRM sync (EU)" {
					t.Errorf("updated changes: %v", c)
				}
			}},
		"auditstream-rotate.json": {records: []string{"key.rotated " + fixtureKey + " " + fixtureDefault},
			check: func(t *testing.T, recs []audit.Record) {
				c := recs[0].Changes
				if c["rotatedAt"].To != "2026-11-23T12:00:03Z" || c["previousSecretExpiresAt"].To != "2026-11-23T13:00:03Z" || *recs[0].RequestID != "req-rotate" {
					t.Errorf("rotated: %+v", recs[0])
				}
			}},
		"auditstream-revoke.json": {records: []string{"key.revoked " + fixtureKey + " " + fixtureDefault},
			check: func(t *testing.T, recs []audit.Record) {
				if c := recs[0].Changes["status"]; c.From != "active" || c.To != "revoked" {
					t.Errorf("revoked: %+v", recs[0])
				}
			}},
		"auditstream-ttl-remove.json": {records: []string{"key.purged " + fixtureKey + " system"},
			check: func(t *testing.T, recs []audit.Record) {
				r := recs[0]
				if r.RequestID != nil || r.SourceIP != nil || !r.At.Equal(time.Date(2027, 2, 21, 12, 1, 0, 0, time.UTC)) {
					t.Errorf("purged: %+v", r)
				}
			}},
		"auditstream-tenant-suspend.json": {trail: "operator", records: []string{"tenant.suspended  user:ops@platform.example"},
			check: func(t *testing.T, recs []audit.Record) {
				r := recs[0]
				if r.SubjectTenantID == nil || *r.SubjectTenantID != "acme" || r.ActorKeyID == nil || *r.ActorKeyID != "key_01JD5Z8K3N4Q7R2T6V9W0X1Y4Z" ||
					*r.ActorKeyName != "default" || *r.RequestID != "req-suspend" || !r.At.Equal(time.Date(2026, 11, 23, 12, 0, 10, 0, time.UTC)) ||
					len(r.Changes) != 2 || r.Changes["status"].To != "suspended" || r.Changes["suspendedAt"].To != "2026-11-23T12:00:10Z" {
					t.Errorf("suspended: %+v", r)
				}
			}},
		"auditstream-lastused.json":      {},
		"auditstream-non-key-items.json": {},
		"auditstream-poison.json": {records: []string{"key.created " + fixtureDefault + " bootstrap"},
			failed: []string{"4421584500000000017450439015"}},
	}

	files := keywardtest.EventFixtures(t, "auditstream-*.json")
	keywardtest.FeedEvents(t, files, want, func(t *testing.T, name string, raw []byte, w outcome) {
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) == 0 {
			t.Fatalf("events/%s is not a DynamoDB stream event: %v", name, err)
		}
		for _, r := range ev.Records {
			if r.EventSource != "aws:dynamodb" || r.Change.SequenceNumber == "" || r.EventID == "" {
				t.Fatalf("events/%s: record %+v lacks what the event source mapping sets", name, r)
			}
		}
		store := auditstore.New(ddblocal.Client(ddblocaltest.Shared(t).Endpoint), ddblocaltest.Tables(t)["AuditTable"], 0)
		h := auditstream.New(store, slog.New(slog.DiscardHandler))
		resp, err := h.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		var failed []string
		for _, f := range resp.BatchItemFailures {
			failed = append(failed, f.ItemIdentifier)
		}
		if !slices.Equal(failed, w.failed) {
			t.Errorf("reported %v, want %v", failed, w.failed)
		}
		trail := w.trail
		if trail == "" {
			trail = "acme"
		}
		recs, _, err := store.Query(context.Background(), audit.Query{TenantID: trail, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs {
			got = append(got, string(r.Action)+" "+r.KeyID+" "+r.Actor)
		}
		if !slices.Equal(got, w.records) {
			t.Fatalf("records %v, want %v", got, w.records)
		}
		if w.check != nil {
			w.check(t, recs)
		}
		js, _ := json.Marshal(recs)
		for _, r := range ev.Records {
			for _, img := range []map[string]events.DynamoDBAttributeValue{r.Change.NewImage, r.Change.OldImage} {
				for attr, v := range img {
					if v.DataType() != events.DataTypeBinary {
						continue
					}
					if b, _ := json.Marshal(v.Binary()); strings.Contains(string(js), strings.Trim(string(b), `"`)) {
						t.Errorf("a record holds the bytes of %s: %s", attr, js)
					}
				}
			}
		}
	})
}
