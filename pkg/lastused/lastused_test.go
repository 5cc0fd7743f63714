package lastused

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a Toucher that records the writes asked of it (the real
// store's conditional write is tested against DynamoDB Local in
// pkg/dynamostore and pkg/authorizer).
type recorder struct {
	mu     sync.Mutex
	writes []string
	err    error
}

func (r *recorder) TouchLastUsed(_ context.Context, id string, at time.Time, minInterval time.Duration) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, id+"@"+at.Format("15:04:05.000")+"/"+minInterval.String())
	return r.err == nil, r.err
}

func (r *recorder) got() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.writes, " ")
}

func TestRecordWritesAtMostOncePerIntervalPerKey(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		id string
		at time.Duration
	}{
		{"a", 0}, {"a", time.Second}, {"b", time.Second}, {"a", time.Minute},
		{"a", time.Minute + time.Millisecond}, {"a", time.Minute + 2*time.Millisecond},
		{"b", 30 * time.Second}, {"a", -time.Hour}, // a clock that went back writes again
	}
	st := &recorder{}
	r := New(st, time.Minute, slog.New(slog.DiscardHandler))
	for _, s := range steps {
		r.Record(context.Background(), s.id, t0.Add(s.at))
	}
	want := "a@12:00:00.000/1m0s b@12:00:01.000/1m0s a@12:01:00.001/1m0s a@11:00:00.000/1m0s"
	if got := st.got(); got != want {
		t.Errorf("writes = %s\nwant     %s", got, want)
	}
}

func TestAFailedWriteIsLoggedAndNotRetriedWithinTheInterval(t *testing.T) {
	var buf bytes.Buffer
	st := &recorder{err: errors.New("throttled")}
	r := New(st, 0, slog.New(slog.NewJSONHandler(&buf, nil)))
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r.Record(context.Background(), "key_a", t0)
	r.Record(context.Background(), "key_a", t0.Add(time.Second))
	if n := strings.Count(st.got(), "key_a@"); n != 1 {
		t.Errorf("writes = %d, want 1", n)
	}
	if !strings.Contains(buf.String(), `"level":"WARN"`) || !strings.Contains(buf.String(), `"keyId":"key_a"`) {
		t.Errorf("log = %s", buf.String())
	}
}

func TestConcurrentRecordsOfOneKeyWriteOnce(t *testing.T) {
	st := &recorder{}
	r := New(st, time.Minute, nil)
	now := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Record(context.Background(), "key_a", now)
		}()
	}
	wg.Wait()
	if n := strings.Count(st.got(), "key_a@"); n != 1 {
		t.Errorf("writes = %d, want 1", n)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	r := New(&recorder{}, time.Minute, nil)
	now := time.Now()
	for i := 0; i < maxTracked+10; i++ {
		r.claim("key_"+strconv.Itoa(i), now)
	}
	if n := len(r.last); n > maxTracked {
		t.Errorf("tracked keys = %d, want at most %d", n, maxTracked)
	}
}

// gated is a Toucher whose writes wait for release, then note they ended.
type gated struct {
	recorder
	started, release chan struct{}
	ended            chan string
}

func (g *gated) TouchLastUsed(ctx context.Context, id string, at time.Time, minInterval time.Duration) (bool, error) {
	g.started <- struct{}{}
	<-g.release
	ok, err := g.recorder.TouchLastUsed(ctx, id, at, minInterval)
	g.ended <- id
	return ok, err
}

// TestStartReturnsBeforeTheWriteAndWaitAfterIt: Start hands the write to the
// background (the caller answers meanwhile); Wait returns only once it
// ended; a throttled use has nothing to wait for.
func TestStartReturnsBeforeTheWriteAndWaitAfterIt(t *testing.T) {
	g := &gated{started: make(chan struct{}, 1), release: make(chan struct{}), ended: make(chan string, 1)}
	r := New(g, time.Minute, slog.New(slog.DiscardHandler))
	now := time.Now()
	p := r.Start(context.Background(), "key_a", now) // returns although the write is held
	<-g.started
	if again := r.Start(context.Background(), "key_a", now.Add(time.Second)); again.done != nil {
		t.Error("a second use within the interval started a write")
	}
	close(g.release)
	p.Wait()
	select {
	case id := <-g.ended:
		if id != "key_a" {
			t.Errorf("wrote %s", id)
		}
	default:
		t.Fatal("Wait returned before the write ended")
	}
	Pending{}.Wait() // the zero Pending returns at once
}
