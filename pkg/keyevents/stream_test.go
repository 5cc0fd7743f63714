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

// streamOf returns a reader of the keys table's real stream.
func streamOf(t *testing.T, s *keywardtest.Stack) *ddbstream.Reader {
	t.Helper()
	desc, err := s.DB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(s.Tables["KeysTable"])})
	if err != nil {
		t.Fatal(err)
	}
	return ddbstream.NewReader(ddblocal.StreamsClient(s.Endpoint), aws.ToString(desc.Table.LatestStreamArn))
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

func TestEveryKeyChangeBecomesOneEventWithoutSecretsAndRedeliveryKeepsIDs(t *testing.T) {
	ctx := context.Background()
	clk := keywardtest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	s := keywardtest.Keys(t, keywardtest.WithClock(clk))
	stream := streamOf(t, s)
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
	recs, err := stream.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	logs := &keywardtest.LogBuffer{}
	h := keyevents.NewStreamHandler(rec, logs.Logger())
	resp, err := h.Handle(ctx, lambdaEvent(t, recs))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	var types []keyevents.Type
	for _, e := range rec.got {
		if e.KeyID == iss.ID {
			types = append(types, e.Type)
			if e.TenantID != "acme" || e.KeyName != "CRM sync" || e.Actor != admin.KeyID || !strings.HasPrefix(e.ID, keyevents.IDPrefix) {
				t.Errorf("event %+v", e)
			}
		}
	}
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

	// Redelivery: the same stream records make the same event IDs.
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
}

func TestUnpublishedEventsAreReportedByTheirStreamRecord(t *testing.T) {
	ctx := context.Background()
	s := keywardtest.Keys(t)
	stream := streamOf(t, s)
	admin, _ := s.Bootstrap(t, "acme", "bootstrap")
	a, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "a", Scopes: []string{"keys:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Service.Create(ctx, admin, apikey.CreateInput{Name: "b", Scopes: []string{"keys:read"}}); err != nil {
		t.Fatal(err)
	}
	recs, err := stream.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{fail: map[string]bool{a.ID: true}}
	resp, _ := keyevents.NewStreamHandler(rec, (&keywardtest.LogBuffer{}).Logger()).Handle(ctx, lambdaEvent(t, recs))
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures = %+v, want a's record only", resp.BatchItemFailures)
	}
	for _, r := range recs {
		if r.Change.SequenceNumber == resp.BatchItemFailures[0].ItemIdentifier {
			if got := r.Change.NewImage["id"].String(); got != a.ID {
				t.Fatalf("reported the record of %s, want %s", got, a.ID)
			}
		}
	}
}

func TestAnUndecodableRecordIsReportedAndOthersStillPublish(t *testing.T) {
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{
		EventID: "1", EventName: "INSERT",
		Change: events.DynamoDBStreamRecord{
			SequenceNumber: "100",
			Keys:           map[string]events.DynamoDBAttributeValue{"sk": events.NewStringAttribute("KEY")},
			NewImage:       map[string]events.DynamoDBAttributeValue{"sk": events.NewStringAttribute("KEY"), "version": events.NewStringAttribute("x")},
		},
	}}}
	rec := &recorder{}
	resp, err := keyevents.NewStreamHandler(rec, (&keywardtest.LogBuffer{}).Logger()).Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "100" {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	if len(rec.got) != 0 {
		t.Fatal("published an undecodable record")
	}
}
