package gwflush_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// TestEventFixtures feeds every events/flush-*.json to the flush function's
// handler, over DynamoDB Local with a REST and an HTTP stage recorded: a
// revocation from the keys stream, and a scheduled run finding a deadline
// that has come, each flush every stage once.
func TestEventFixtures(t *testing.T) {
	type outcome struct {
		deadline bool // a past deadline is recorded first, and must be forgotten
	}
	want := map[string]outcome{
		"flush-stream-revoke.json": {},
		"flush-schedule.json":      {deadline: true},
	}
	files := keywardtest.EventFixtures(t, "flush-*.json")
	keywardtest.FeedEvents(t, files, want, func(t *testing.T, name string, raw []byte, w outcome) {
		e := newEverywhere(t, ownStage, httpStage)
		ctx := context.Background()
		if w.deadline {
			d := apikey.Deadline{KeyID: "key_01JD6B0C3XH5Q2M9T7R4W8N1PA", At: time.Now().Add(-time.Second)}
			if err := e.keys.Store.RecordDeadline(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		onePoll := func(context.Context, time.Duration) error { return context.Canceled } // the schedule's watch ends after one poll
		e.f.WithClock(time.Now, onePoll)
		if err := e.f.Handle(ctx, raw); err != nil {
			t.Fatalf("Handle: %v", err)
		}
		got := e.gw.take()
		slices.Sort(got)
		wantCalls := []string{flushOf(ownStage), flushOf(httpStage)}
		slices.Sort(wantCalls)
		if !slices.Equal(got, wantCalls) {
			t.Fatalf("calls %v, want one flush per stage %v", got, wantCalls)
		}
		if left, err := e.keys.Store.DueDeadlines(ctx, time.Now().Add(time.Hour)); err != nil || len(left) != 0 {
			t.Fatalf("deadlines left %v, %v", left, err)
		}
	})
}
