package keyevents_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditstore"
	"github.com/keyward/keyward/pkg/auditstream"
	"github.com/keyward/keyward/pkg/keyevents"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/ddbstream"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

// recorder is a Sender keeping what it was given; fail makes it refuse the
// events of the key IDs it names.
type recorder struct {
	mu   sync.Mutex
	got  []keyevents.Event
	fail map[string]bool
}

func (r *recorder) Publish(_ context.Context, evs []keyevents.Event) []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := make([]error, len(evs))
	for i, e := range evs {
		if r.fail[e.KeyID] {
			errs[i] = keyevents.ErrNotPublished
			continue
		}
		r.got = append(r.got, e)
	}
	return errs
}

// streamOf returns a reader of the real stream of the template's table id.
func streamOf(t *testing.T, s *keywardtest.Stack, id string) *ddbstream.Reader {
	t.Helper()
	desc, err := s.DB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(s.Tables[id])})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(desc.Table.LatestStreamArn)
	if arn == "" {
		t.Fatalf("%s has no stream", id)
	}
	return ddbstream.NewReader(ddblocal.StreamsClient(s.Endpoint), arn)
}

// trail runs the audit trail as deployed: the keys stream feeds the audit
// function, which writes records to the audit table, whose stream the
// events function reads.
type trail struct {
	keys, audit *ddbstream.Reader
	store       *auditstore.Store
	recorder    *auditstream.Handler
}

func newTrail(t *testing.T, s *keywardtest.Stack) *trail {
	store := auditstore.New(s.DB, s.Tables["AuditTable"], 24*time.Hour)
	return &trail{
		keys: streamOf(t, s, "KeysTable"), audit: streamOf(t, s, "AuditTable"), store: store,
		recorder: auditstream.New(store, (&keywardtest.LogBuffer{}).Logger()),
	}
}

// records records the key changes made since the last call and returns the
// audit stream's new records, as EventsFunction would receive them.
func (tr *trail) records(t *testing.T) []events.DynamoDBEventRecord {
	t.Helper()
	ctx := context.Background()
	recs, err := tr.keys.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.recorder.Handle(ctx, lambdaEvent(t, recs))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("audit Handle = %+v, %v", resp, err)
	}
	out, err := tr.audit.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lambdaEvent passes records through JSON, as Lambda delivers them.
func lambdaEvent(t *testing.T, recs []events.DynamoDBEventRecord) events.DynamoDBEvent {
	t.Helper()
	raw, err := json.Marshal(ddbstream.Event(recs))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestEveryAuditRecordBecomesOneEventWithoutSecretsAndRedeliveryKeepsIDs(t *testing.T) {
	ctx := context.Background()
	clk := keywardtest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	s := keywardtest.Keys(t, keywardtest.WithClock(clk))
	tr := newTrail(t, s)
	admin, boot := s.Bootstrap(t, "acme", "bootstrap")
	iss, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "CRM sync", Scopes: []string{"recordings:read"}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	desc := "nightly"
	if _, err := s.Service.Update(ctx, admin, iss.ID, apikey.PatchInput{Description: &desc}, nil); err != nil {
		t.Fatal(err)
	}
	rot, err := s.Service.Rotate(ctx, admin, iss.ID, apikey.RotateInput{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Service.Revoke(ctx, admin, iss.ID); err != nil {
		t.Fatal(err)
	}
	recs := tr.records(t)
	rec := &recorder{}
	logs := &keywardtest.LogBuffer{}
	h := keyevents.NewStreamHandler(rec, logs.Logger())
	resp, err := h.Handle(ctx, lambdaEvent(t, recs))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	stored, _, err := tr.store.Query(ctx, audit.Query{TenantID: "acme", KeyID: iss.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]audit.Action{}
	for _, r := range stored {
		ids[r.ID] = r.Action
	}
	var types []keyevents.Type
	for _, e := range rec.got {
		if e.KeyID != iss.ID {
			continue
		}
		types = append(types, e.Type)
		if e.TenantID != "acme" || e.KeyName != "CRM sync" || e.ActorKeyID != admin.KeyID || e.Actor == "" || e.At.IsZero() {
			t.Errorf("event %+v", e)
		}
		if ids[e.ID] != audit.Action(e.Type) {
			t.Errorf("event %s (%s) is not the audit record with its ID", e.ID, e.Type)
		}
	}
	// One key's records reach the audit table, and so its stream, in the
	// order of the key's changes.
	want := []keyevents.Type{keyevents.KeyCreated, keyevents.KeyUpdated, keyevents.KeyRotated, keyevents.KeyRevoked}
	if !slices.Equal(types, want) {
		t.Fatalf("types = %v, want %v", types, want)
	}
	raw, _ := json.Marshal(rec.got)
	for _, secret := range []string{iss.Secret, iss.Token, rot.Secret, rot.Token, boot.Secret, boot.Token, "secretHash", "pepper"} {
		if strings.Contains(string(raw), secret) {
			t.Fatalf("an event holds %q", secret)
		}
	}
	if !strings.Contains(string(raw), `"description":{"from":"","to":"nightly"}`) {
		t.Errorf("the update's changes are missing: %s", raw)
	}

	// Redelivery of the audit stream's records makes the same event IDs.
	first := rec.got
	rec.got = nil
	if _, err := h.Handle(ctx, lambdaEvent(t, recs)); err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if first[i].ID != rec.got[i].ID {
			t.Fatalf("redelivered event %d has ID %s, was %s", i, rec.got[i].ID, first[i].ID)
		}
	}
	// Redelivery of the keys stream's records writes no audit record, so no
	// new event.
	tr.keys = streamOf(t, s, "KeysTable")
	if again := tr.records(t); len(again) != 0 {
		t.Fatalf("a redelivered key change made %d new audit stream records", len(again))
	}
}

func TestAPolicyRecordBecomesAPolicyEvent(t *testing.T) {
	ctx := context.Background()
	s := keywardtest.Keys(t)
	tr := newTrail(t, s)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	r := audit.Record{
		ID: audit.RecordID("ev-1", "1"), TenantID: "acme", Action: audit.ActionPolicyUpdated, Actor: "alice@example.com", At: at,
		Changes: map[string]audit.FieldChange{"maxTtlDays": {From: nil, To: 90.0}},
	}
	if _, err := tr.store.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	recs, err := tr.audit.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	if resp, err := keyevents.NewStreamHandler(rec, (&keywardtest.LogBuffer{}).Logger()).Handle(ctx, lambdaEvent(t, recs)); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	if len(rec.got) != 1 {
		t.Fatalf("events = %+v", rec.got)
	}
	e := rec.got[0]
	if e.ID != r.ID || e.Type != keyevents.PolicyUpdated || e.TenantID != "acme" || e.KeyID != "" || e.Actor != "alice@example.com" ||
		!e.At.Equal(at) || e.Changes["maxTtlDays"].To != 90.0 {
		t.Fatalf("event %+v", e)
	}
	raw, _ := json.Marshal(e)
	if strings.Contains(string(raw), `"keyId"`) {
		t.Errorf("a policy event names a key: %s", raw)
	}
}

func TestUnpublishedEventsAreReportedByTheirStreamRecord(t *testing.T) {
	ctx := context.Background()
	s := keywardtest.Keys(t)
	tr := newTrail(t, s)
	admin, _ := s.Bootstrap(t, "acme", "bootstrap")
	a, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "a", Scopes: []string{"keys:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "b", Scopes: []string{"keys:read"}}); err != nil {
		t.Fatal(err)
	}
	recs := tr.records(t)
	rec := &recorder{fail: map[string]bool{a.ID: true}}
	resp, _ := keyevents.NewStreamHandler(rec, (&keywardtest.LogBuffer{}).Logger()).Handle(ctx, lambdaEvent(t, recs))
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures = %+v, want a's record only", resp.BatchItemFailures)
	}
	for _, r := range recs {
		if r.Change.SequenceNumber == resp.BatchItemFailures[0].ItemIdentifier {
			if got := r.Change.NewImage["keyId"].String(); got != a.ID {
				t.Fatalf("reported the record of %s, want %s", got, a.ID)
			}
		}
	}
}

func TestAnUndecodableRecordIsReportedRemovalsAreSkippedAndOthersStillPublish(t *testing.T) {
	img := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("TENANT#acme"), "ttl": events.NewStringAttribute("x")}
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		{EventID: "1", EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "100", NewImage: img}},
		{EventID: "2", EventName: "REMOVE", Change: events.DynamoDBStreamRecord{SequenceNumber: "200"}},
		{EventID: "3", EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "300"}},
	}}
	rec := &recorder{}
	resp, err := keyevents.NewStreamHandler(rec, (&keywardtest.LogBuffer{}).Logger()).Handle(context.Background(), ev)
	var got []string
	for _, f := range resp.BatchItemFailures {
		got = append(got, f.ItemIdentifier)
	}
	if err != nil || !slices.Equal(got, []string{"100", "300"}) {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	if len(rec.got) != 0 {
		t.Fatal("published an undecodable record")
	}
}

// TestEventFixtures feeds every events/events-*.json (audit stream batches
// as Lambda delivers them) to the handler and checks what it publishes and
// which records it reports.
func TestEventFixtures(t *testing.T) {
	type outcome struct {
		events   []string // "type keyId eventId"
		failures []string
	}
	want := map[string]outcome{
		"events-audit-insert.json": {events: []string{"key.created key_01JD6B0C3XH5Q2M9T7R4W8N1PA aud_5e0c1f3a9b2d4e6f8a0b1c2d3e4f5a6b"}},
		"events-audit-policy.json": {events: []string{"policy.updated  aud_7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"}},
		"events-audit-poison.json": {
			events:   []string{"key.revoked key_01JD6B0C3XH5Q2M9T7R4W8N1PA aud_9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49"},
			failures: []string{"100000000000000000004"},
		},
	}
	keywardtest.FeedEvents(t, keywardtest.EventFixtures(t, "events-*.json"), want, func(t *testing.T, _ string, raw []byte, w outcome) {
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		resp, err := keyevents.NewStreamHandler(rec, (&keywardtest.LogBuffer{}).Logger()).Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		var got, failed []string
		for _, e := range rec.got {
			got = append(got, string(e.Type)+" "+e.KeyID+" "+e.ID)
			if e.TenantID != "acme" || e.Actor != "alice@example.com" || e.At.IsZero() || len(e.Changes) == 0 {
				t.Errorf("event %+v", e)
			}
		}
		for _, f := range resp.BatchItemFailures {
			failed = append(failed, f.ItemIdentifier)
		}
		if !slices.Equal(got, w.events) || !slices.Equal(failed, w.failures) {
			t.Fatalf("events %q failures %q, want %q %q", got, failed, w.events, w.failures)
		}
	})
}
