package reminders_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/keyevents"
	"github.com/keyward/keyward/pkg/reminders"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

const day = 24 * time.Hour

// recorder keeps what it is sent; failing refuses everything.
type recorder struct {
	mu      sync.Mutex
	got     []keyevents.Event
	failing bool
}

func (r *recorder) Publish(_ context.Context, evs []keyevents.Event) []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := make([]error, len(evs))
	for i, e := range evs {
		if r.failing {
			errs[i] = keyevents.ErrNotPublished
			continue
		}
		r.got = append(r.got, e)
	}
	return errs
}

// take returns the events of key id since the last take, as "type/threshold".
func (r *recorder) take(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	rest := r.got[:0]
	for _, e := range r.got {
		if e.KeyID == id {
			out = append(out, string(e.Type)+"/"+strconv.Itoa(e.Threshold))
			continue
		}
		rest = append(rest, e)
	}
	r.got = rest
	return out
}

type fixture struct {
	s     *keywardtest.Stack
	clk   *keywardtest.Clock
	admin apikey.Caller
	rec   *recorder
	job   *reminders.Job
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := keywardtest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	s := keywardtest.Keys(t, keywardtest.WithClock(clk))
	admin, _ := s.Bootstrap(t, "acme", "bootstrap")
	rec := &recorder{}
	return &fixture{s: s, clk: clk, admin: admin, rec: rec, job: reminders.New(s.Store, rec, clk.Now, (&keywardtest.LogBuffer{}).Logger())}
}

func (f *fixture) run(t *testing.T) reminders.Result {
	t.Helper()
	res, err := f.job.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func (f *fixture) create(t *testing.T, name, expiresIn string) *apikey.Issued {
	t.Helper()
	in := apikey.CreateInput{Name: name, Scopes: []string{"keys:read"}}
	if expiresIn != "" {
		in.ExpiresIn = &expiresIn
	}
	iss, err := f.s.Service.Create(context.Background(), f.admin, in)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestExpiringRemindersFireOncePerThresholdThenExpired(t *testing.T) {
	f := newFixture(t)
	k := f.create(t, "CRM sync", "40d")
	steps := []struct {
		at   time.Duration // since creation
		want []string
	}{
		{0, nil},
		{10*day + time.Hour, []string{"key.expiring/30"}}, // 29d23h left
		{10*day + 2*time.Hour, nil},                       // same threshold: once
		{20 * day, nil},
		{33*day + time.Hour, []string{"key.expiring/7"}},
		{39*day + time.Hour, []string{"key.expiring/1"}},
		{40 * day, []string{"key.expired/0"}},
		{41 * day, nil},
	}
	start := f.clk.Now()
	for _, st := range steps {
		f.clk.Set(start.Add(st.at))
		f.run(t)
		if got := f.rec.take(k.ID); !equal(got, st.want) {
			t.Fatalf("at +%v: events %v, want %v", st.at, got, st.want)
		}
	}
}

func TestAKeyCreatedInsideAThresholdHearsOnlyTheSmallest(t *testing.T) {
	f := newFixture(t)
	k := f.create(t, "short", "5d")
	f.run(t)
	if got := f.rec.take(k.ID); !equal(got, []string{"key.expiring/7"}) {
		t.Fatalf("events %v", got)
	}
}

func TestTenantThresholdsAndUnusedDaysApply(t *testing.T) {
	f := newFixture(t)
	if _, err := f.s.Service.PutPolicy(context.Background(), f.admin, apikey.Policy{ExpiringDays: []int{14}, UnusedDays: 10}, nil); err != nil {
		t.Fatal(err)
	}
	exp := f.create(t, "expiring", "20d")
	idle := f.create(t, "idle", "")
	used := f.create(t, "used", "")
	start := f.clk.Now()

	f.clk.Set(start.Add(7 * day))
	if _, err := f.s.Store.TouchLastUsed(context.Background(), used.ID, f.clk.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	f.clk.Set(start.Add(6*day + time.Hour)) // 13d23h left of 20d
	f.run(t)
	if got := f.rec.take(exp.ID); !equal(got, []string{"key.expiring/14"}) {
		t.Fatalf("expiring: %v", got)
	}
	f.clk.Set(start.Add(10*day + time.Hour))
	f.run(t)
	if got := f.rec.take(idle.ID); !equal(got, []string{"key.unused/10"}) {
		t.Fatalf("idle key: %v", got)
	}
	if got := f.rec.take(used.ID); len(got) != 0 {
		t.Fatalf("a key used 3 days ago: %v", got)
	}
	f.clk.Set(start.Add(12 * day))
	f.run(t)
	if got := f.rec.take(idle.ID); len(got) != 0 {
		t.Fatalf("unused fired twice: %v", got)
	}
	f.clk.Set(start.Add(17*day + time.Hour)) // 10 days after its last use
	f.run(t)
	if got := f.rec.take(used.ID); !equal(got, []string{"key.unused/10"}) {
		t.Fatalf("used key: %v", got)
	}
}

func TestRevokedKeysHearNothingAndFailedPublishesAreRetried(t *testing.T) {
	f := newFixture(t)
	revoked := f.create(t, "gone", "1d")
	if _, err := f.s.Service.Revoke(context.Background(), f.admin, revoked.ID); err != nil {
		t.Fatal(err)
	}
	k := f.create(t, "soon", "1d")
	f.rec.failing = true
	if _, err := f.job.Run(context.Background()); err == nil {
		t.Fatal("a run whose events were refused reported no error")
	}
	f.rec.failing = false
	res := f.run(t)
	if res.Expiring != 1 {
		t.Fatalf("result %+v", res)
	}
	if got := f.rec.take(k.ID); !equal(got, []string{"key.expiring/1"}) {
		t.Fatalf("retry: %v", got)
	}
	if got := f.rec.take(revoked.ID); len(got) != 0 {
		t.Fatalf("revoked key: %v", got)
	}
}
