package main

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// The load run itself is minutes long and never runs in `make test`; these
// tests cover the arithmetic its verdicts rest on.

func TestPercentileIsNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %v, want 0", got)
	}
	if got := percentile([]time.Duration{7}, 50); got != 7 {
		t.Errorf("p50 of one = %v, want it", got)
	}
}

func TestSummarizeCountsStatusesPerKind(t *testing.T) {
	by := summarize([]sample{
		{kind: opCreate, status: 201, dur: 3}, {kind: opCreate, status: 500, dur: 1},
		{kind: opWhoami, status: 401, dur: 2}, {kind: opWhoami, status: 0},
	})
	if c := by[opCreate]; c.n != 2 || c.ok != 1 || c.statuses[500] != 1 || !slices.Equal(c.durs, []time.Duration{1, 3}) {
		t.Errorf("create = %+v", c)
	}
	if w := by[opWhoami]; w.n != 2 || w.ok != 0 || len(w.durs) != 1 {
		t.Errorf("whoami = %+v (a call with no response has no latency)", w)
	}
	if got, want := histogram(by[opWhoami].statuses), "none:1 401:1"; got != want {
		t.Errorf("histogram = %q, want %q", got, want)
	}
}

func TestExpectedAuditIsOneRecordPerChangingWrite(t *testing.T) {
	plain := &key{id: "key_a"}
	rotated := &key{id: "key_b", rotations: 2, unsure: map[string]int{actionRotated: 1, actionRevoked: 1}}
	revoked := &key{id: "key_c", rotations: 1, revoked: true, unsure: map[string]int{actionRevoked: 2}}
	want, slack := expectedAudit([]*key{plain, rotated, revoked})
	for id, c := range map[string]struct{ want, slack map[string]int }{
		"key_a": {want: map[string]int{actionCreated: 1}},
		"key_b": {want: map[string]int{actionCreated: 1, actionRotated: 2}, slack: map[string]int{actionRotated: 1, actionRevoked: 1}},
		// a revoke answered 5xx adds nothing to a key another revoke revoked
		"key_c": {want: map[string]int{actionCreated: 1, actionRotated: 1, actionRevoked: 1}},
	} {
		if !maps.Equal(want[id], c.want) {
			t.Errorf("%s: want %v, expected %v", id, want[id], c.want)
		}
		if !maps.Equal(slack[id], c.slack) {
			t.Errorf("%s: slack %v, expected %v", id, slack[id], c.slack)
		}
	}
}

func TestCompareAuditFindsMissingExtraAndDuplicateRecords(t *testing.T) {
	want, slack := tally{}, tally{}
	want.add("key_a", actionCreated, 1)
	want.add("key_b", actionCreated, 1)
	want.add("key_b", actionRevoked, 1)
	want.add("key_c", actionCreated, 1)
	slack.add("key_c", actionRotated, 1) // a rotate answered 502

	got := tally{}
	got.add("key_a", actionCreated, 2)     // a duplicate
	got.add("key_b", actionCreated, 1)     // fine
	got.add("key_b", actionRotated, 1)     // a record for no write
	got.add("key_c", actionCreated, 1)     // fine
	got.add("key_c", actionRotated, 1)     // the 502 had committed: fine
	got.add("key_admin", actionCreated, 1) // a key the run did not create: not compared

	diffs := compareAudit(want, slack, got)
	wantDiffs := []string{
		"key_a: 2 key.created records, want 1",
		"key_b: 0 key.revoked records, want 1",
		"key_b: 1 key.rotated records, want 0",
	}
	if !slices.Equal(diffs, wantDiffs) {
		t.Errorf("diffs = %q, want %q", diffs, wantDiffs)
	}
	if d := compareAudit(want, slack, want); len(d) != 0 {
		t.Errorf("the wanted records differ: %q", d)
	}
	got.add("key_c", actionRotated, 1)
	if d := compareAudit(want, slack, got); !slices.Contains(d, "key_c: 2 key.rotated records, want 0 to 1") {
		t.Errorf("beyond the slack: %q", d)
	}
}

func TestSecretOfATokenIsItsFirst43CharactersAfterTheLastUnderscore(t *testing.T) {
	secret := "abcdefghijABCDEFGHIJ0123456789abcdefghijKLM"
	if got := secretOf("kw_01JD5X6Y7Z8A9BCDEFGHJKMNPQ_" + secret + "xYz012"); got != secret {
		t.Errorf("secretOf = %q, want %q", got, secret)
	}
	if got := secretOf("kw_short"); got != "" {
		t.Errorf("secretOf(short) = %q, want \"\"", got)
	}
}

func TestNewAPIRefusesAnythingButLoopback(t *testing.T) {
	if _, err := newAPI("http://127.0.0.1:3000", 10); err != nil {
		t.Errorf("127.0.0.1: %v", err)
	}
	for _, u := range []string{"http://192.0.2.1:3000", "http://example.com", "http://0.0.0.0:3000"} {
		if _, err := newAPI(u, 10); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}
