package reminders_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/keyward/keyward/pkg/reminders"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// TestEventFixtures feeds every events/reminders-*.json to the function's
// handler against a table holding a key that expires in five days: the run
// sends its 7-day reminder, once.
func TestEventFixtures(t *testing.T) {
	want := map[string]reminders.Result{
		"reminders-schedule.json": {Expiring: 1},
	}
	files := keywardtest.EventFixtures(t, "reminders-*.json")
	keywardtest.FeedEvents(t, files, want, func(t *testing.T, name string, raw []byte, w reminders.Result) {
		var ev struct {
			DetailType string `json:"detail-type"`
			Source     string `json:"source"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil || ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" {
			t.Fatalf("events/%s is not a scheduled event: %v", name, err)
		}
		f := newFixture(t)
		k := f.create(t, "CRM sync", "5d")
		res, err := f.job.Handle(context.Background(), raw)
		if err != nil || res != w {
			t.Fatalf("Handle = %+v, %v; want %+v", res, err, w)
		}
		if got := f.rec.take(k.ID); !equal(got, []string{"key.expiring/7"}) {
			t.Fatalf("events %v, want the 7-day reminder", got)
		}
		if res, err := f.job.Handle(context.Background(), raw); err != nil || res != (reminders.Result{}) {
			t.Fatalf("the next run = %+v, %v; want nothing sent again", res, err)
		}
	})
}
