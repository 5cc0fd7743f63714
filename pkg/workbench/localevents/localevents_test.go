package localevents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/keyevents"
	"github.com/keyward/keyward/pkg/workbench/localevents"
)

// client is the real SDK client pointed at url.
func client(url string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

func start(t *testing.T, out *bytes.Buffer) (url, file string) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "events.jsonl")
	srv, err := localevents.New(localevents.Config{File: file, Output: out, Buses: []string{"keyward-bus"}, Region: "eu-west-1", Account: "000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	return url, file
}

func noWait(context.Context, time.Duration) error { return nil }

func TestPublisherThroughTheSDKAppendsOneLineAndPrintsOneLinePerEvent(t *testing.T) {
	var out bytes.Buffer
	url, file := start(t, &out)
	pub := keyevents.NewPublisher(client(url), "keyward-bus")
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var evs []keyevents.Event
	for i := range 13 { // two PutEvents calls
		evs = append(evs, keyevents.FromRecord(audit.Record{
			ID: audit.RecordID("ev", string(rune('a'+i))), TenantID: "acme", KeyID: "key_1", Action: audit.ActionCreated, Actor: "key_admin", At: at,
			Changes: map[string]audit.FieldChange{"name": {To: "CRM sync"}},
		}, "CRM sync"))
	}
	for i, err := range pub.Publish(context.Background(), evs) {
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	got, err := localevents.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) {
		t.Fatalf("%d events recorded, want %d", len(got), len(evs))
	}
	e := got[0]
	if e.Source != "keyward" || e.DetailType != "key.created" || e.Bus != "keyward-bus" || !e.Time.Equal(at) {
		t.Errorf("envelope = %+v", e)
	}
	var d keyevents.Event
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d.ID != evs[0].ID || d.TenantID != "acme" || d.KeyName != "CRM sync" || d.Actor != "key_admin" {
		t.Errorf("detail = %+v", d)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(evs) || !strings.HasPrefix(lines[0], `event key.created tenant="acme" key="key_1"`) {
		t.Errorf("printed:\n%s", out.String())
	}
}

func TestUnknownBusIsRefusedAfterTheRetriesAndNothingIsRecorded(t *testing.T) {
	url, file := start(t, nil)
	pub := keyevents.NewPublisher(client(url), "other-bus").WithRetries(3, noWait)
	errs := pub.Publish(context.Background(), []keyevents.Event{{ID: "evt_1", Type: keyevents.KeyCreated, TenantID: "acme", KeyID: "key_1"}})
	if !errors.Is(errs[0], keyevents.ErrNotPublished) || !strings.Contains(errs[0].Error(), "ResourceNotFoundException") {
		t.Fatalf("err = %v", errs[0])
	}
	if got, _ := localevents.ReadFile(file); len(got) != 0 {
		t.Fatalf("%d events recorded", len(got))
	}
}

func TestOtherOperationsAreRefused(t *testing.T) {
	url, _ := start(t, nil)
	_, err := client(url).ListEventBuses(context.Background(), &eventbridge.ListEventBusesInput{})
	if err == nil || !strings.Contains(err.Error(), "UnknownOperation") {
		t.Fatalf("err = %v", err)
	}
}
