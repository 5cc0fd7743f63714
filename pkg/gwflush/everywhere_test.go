package gwflush_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/gwflush"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func tp(t time.Time) *time.Time { return &t }

func TestStops(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	base := func() *apikey.StoredKey {
		k := &apikey.StoredKey{SecretHash: apikey.Hash{Version: 1, Sum: []byte{1}}}
		k.Status, k.Scopes = apikey.StatusActive, []string{"recordings:read"}
		k.ExpiresAt = tp(now.Add(48 * time.Hour))
		k.AllowList.IPs = []string{"10.0.0.0/8"}
		return k
	}
	cases := []struct {
		name   string
		change func(k *apikey.StoredKey)
		want   string
	}{
		{"RevokeStops", func(k *apikey.StoredKey) { k.Status = apikey.StatusRevoked }, "revoke"},
		{"EarlierExpiryStops", func(k *apikey.StoredKey) { k.ExpiresAt = tp(now.Add(time.Hour)) }, "expiry"},
		{"NarrowedAllowListStops", func(k *apikey.StoredKey) { k.AllowList.IPs = []string{"10.1.0.0/16"} }, "allow-list"},
		{"OriginsChangedStops", func(k *apikey.StoredKey) { k.AllowList.Origins = []string{"https://a.example"} }, "allow-list"},
		{"RotationWithoutGraceStops", func(k *apikey.StoredKey) { k.SecretHash.Sum = []byte{2} }, "rotate"},
		{"RotationWithGraceWaitsForItsDeadline", func(k *apikey.StoredKey) {
			k.SecretHash.Sum, k.PreviousSecretExpiresAt = []byte{2}, tp(now.Add(time.Hour))
		}, ""},
		{"DescriptionChangeStopsNothing", func(k *apikey.StoredKey) { k.Description = "x" }, ""},
		{"LaterExpiryStopsNothing", func(k *apikey.StoredKey) { k.ExpiresAt = nil }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next := base()
			c.change(next)
			if got := gwflush.Stops(base(), next, now); got != c.want {
				t.Fatalf("Stops = %q, want %q", got, c.want)
			}
		})
	}
	if got := gwflush.Stops(nil, base(), now); got != "" {
		t.Errorf("a new key stops %q, want nothing", got)
	}
}

// everywhere is the flush function over DynamoDB Local with stages
// recorded as the authorizer records them, flushing on a loopback gateway.
type everywhere struct {
	keys *keywardtest.Stack
	gw   *gateway
	f    *gwflush.Everywhere
	logs *keywardtest.LogBuffer
}

func newEverywhere(t *testing.T, stages ...apikey.Stage) *everywhere {
	t.Helper()
	keys := keywardtest.Keys(t)
	logs := &keywardtest.LogBuffer{}
	gw := newGateway(t)
	for _, s := range stages {
		if err := keys.Store.RecordStage(context.Background(), s, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	noSleep := func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	f := gwflush.NewEverywhere(gw.client(), gw.httpClient(), keys.Store, logs.Logger()).WithClock(time.Now, noSleep)
	return &everywhere{keys: keys, gw: gw, f: f, logs: logs}
}

var (
	ownStage    = apikey.Stage{APIID: "abc123def4", Name: "prod"}
	sampleStage = apikey.Stage{APIID: "rec0000001", Name: "v1"}
	httpStage   = apikey.Stage{APIID: "http000001", Name: "$default", HTTP: true}
)

func flushOf(s apikey.Stage) string {
	if s.HTTP {
		return "DELETE /v2/apis/" + s.APIID + "/stages/" + s.Name + "/cache/authorizers"
	}
	return "DELETE /restapis/" + s.APIID + "/stages/" + s.Name + "/cache/authorizers"
}

func TestFlushAllFlushesEveryRecordedStageOnce(t *testing.T) {
	e := newEverywhere(t, ownStage, sampleStage, httpStage)
	n, err := e.f.FlushAll(context.Background(), "revoke")
	if err != nil || n != 3 {
		t.Fatalf("FlushAll = %d, %v; want 3 stages", n, err)
	}
	got := e.gw.take()
	slices.Sort(got)
	want := []string{flushOf(ownStage), flushOf(sampleStage), flushOf(httpStage)}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
}

func TestFlushAllBacksOffWhileThrottledThenFails(t *testing.T) {
	e := newEverywhere(t, ownStage)
	e.gw.fail(http.StatusTooManyRequests)
	if _, err := e.f.FlushAll(context.Background(), "revoke"); err == nil {
		t.Fatal("FlushAll succeeded while every call was throttled")
	}
	if got := len(e.gw.take()); got != gwflush.DefaultAttempts {
		t.Fatalf("%d calls, want %d attempts", got, gwflush.DefaultAttempts)
	}
	if !strings.Contains(e.logs.String(), `"msg":"authorizer caches not flushed"`) {
		t.Fatalf("no error line: %s", e.logs.String())
	}
}

// TestStreamBatchFlushesOncePerStage: a batch of revocations costs one flush
// per stage; a batch of harmless edits none.
func TestStreamBatchFlushesOncePerStage(t *testing.T) {
	e := newEverywhere(t, ownStage, sampleStage)
	ctx := context.Background()
	admin := keywardtest.Admin("acme")
	e.keys.StoreAdmins(t)
	var batch events.DynamoDBEvent
	for range 3 {
		iss, err := e.keys.Service.Create(ctx, admin, apikey.CreateInput{Name: "k" + time.Now().Format("150405.000000000"), Scopes: []string{"recordings:read"}})
		if err != nil {
			t.Fatal(err)
		}
		before := keywardtest.KeyImage(t, e.keys, iss.ID)
		if _, err := e.keys.Service.Revoke(ctx, admin, iss.ID); err != nil {
			t.Fatal(err)
		}
		batch.Records = append(batch.Records, keywardtest.ModifyRecord(before, keywardtest.KeyImage(t, e.keys, iss.ID)))
	}
	if err := e.f.HandleStream(ctx, events.DynamoDBEvent{Records: batch.Records[:0]}); err != nil || len(e.gw.take()) != 0 {
		t.Fatalf("an empty batch flushed or failed: %v", err)
	}
	if err := e.f.HandleStream(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got := e.gw.take(); len(got) != 2 {
		t.Fatalf("calls %v, want one flush per stage for the whole batch", got)
	}
	e.gw.fail(http.StatusInternalServerError)
	if err := e.f.HandleStream(ctx, batch); err == nil {
		t.Fatal("a failed flush did not fail the batch (the event source would not retry it)")
	}
}

// TestDeadlinesFlushWhenTheyCome: a deadline in the past flushes every stage
// and is forgotten; one in the future waits.
func TestDeadlinesFlushWhenTheyCome(t *testing.T) {
	e := newEverywhere(t, ownStage)
	ctx := context.Background()
	past := apikey.Deadline{KeyID: "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2A", At: time.Now().Add(-time.Second)}
	future := apikey.Deadline{KeyID: "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2B", At: time.Now().Add(time.Hour)}
	for _, d := range []apikey.Deadline{past, future} {
		if err := e.keys.Store.RecordDeadline(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	onePoll := func(context.Context, time.Duration) error { return context.Canceled }
	e.f.WithClock(time.Now, onePoll)
	if err := e.f.WatchDeadlines(ctx); err != nil { // one poll: the sleep after it ends the watch
		t.Fatal(err)
	}
	if got := e.gw.take(); len(got) != 1 || got[0] != flushOf(ownStage) {
		t.Fatalf("calls %v, want one flush", got)
	}
	left, err := e.keys.Store.DueDeadlines(ctx, time.Now().Add(2*time.Hour))
	if err != nil || len(left) != 1 || left[0].KeyID != future.KeyID {
		t.Fatalf("deadlines left %v, %v; want only the future one", left, err)
	}
}

// TestTenantStatusChangesFlush: a tenant's suspension (and resumption)
// reaches the stream as a change of its tenant item and flushes every stage;
// a tenant item written without a status change flushes nothing.
func TestTenantStatusChangesFlush(t *testing.T) {
	e := newEverywhere(t, ownStage, sampleStage)
	ctx := context.Background()
	platform := e.keys.StorePlatform(t)
	e.keys.Bootstrap(t, "acme", "system:test")
	image := func() map[string]events.DynamoDBAttributeValue {
		return keywardtest.ItemImage(t, e.keys, "TENANT#acme", "TENANT")
	}

	active := image()
	same := keywardtest.ModifyRecord(active, active)
	if err := e.f.HandleStream(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{same}}); err != nil || len(e.gw.take()) != 0 {
		t.Fatalf("a tenant item with its status unchanged flushed (or failed: %v)", err)
	}
	if _, err := e.keys.Service.SetTenantStatus(ctx, platform, "acme", apikey.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	suspended := image()
	for _, r := range []events.DynamoDBEventRecord{keywardtest.ModifyRecord(active, suspended), keywardtest.ModifyRecord(suspended, active)} {
		if err := e.f.HandleStream(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{r}}); err != nil {
			t.Fatal(err)
		}
		if got := e.gw.take(); len(got) != 2 {
			t.Fatalf("calls %v, want one flush per stage for a tenant's status change", got)
		}
	}
}
