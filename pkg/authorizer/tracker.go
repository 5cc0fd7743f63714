package authorizer

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
)

// Registry records what the flusher needs to make revocation and expiry
// immediate at every gateway; *dynamostore.Store satisfies it.
type Registry interface {
	// RecordStage notes a REST API stage this authorizer serves, so changes
	// that stop a credential flush its authorizer cache.
	RecordStage(ctx context.Context, s apikey.Stage, now time.Time) error
	// RecordDeadline notes when an allowed key's credential stops working by
	// itself, so the caches are flushed at that moment.
	RecordDeadline(ctx context.Context, d apikey.Deadline) error
}

// MaxGatewayCacheTTL is API Gateway's longest authorizer cache TTL. An
// Allow given less than this before a key's expiry (or the end of a
// rotation's grace) may be replayed past it by some stage whose TTL the
// authorizer does not know, so the deadline is recorded for the flusher.
const MaxGatewayCacheTTL = time.Hour

// trackerWait bounds how long an Allow waits for its stage's first record:
// the write runs beside the key's read, and an Allow cached by a stage no
// flush knows of would outlive a revocation.
const trackerWait = 500 * time.Millisecond

// maxTrackedDeadlines bounds the memory of deadlines already recorded.
const maxTrackedDeadlines = 100_000

// tracker records each stage once per container and each deadline once per
// container, never failing a request: a failed write is logged and tried
// again on a later request.
type tracker struct {
	reg Registry
	log *slog.Logger

	mu        sync.Mutex
	stages    map[apikey.Stage]chan struct{} // closed when the record was attempted
	deadlines map[apikey.Deadline]struct{}
}

func newTracker(reg Registry, log *slog.Logger) *tracker {
	return &tracker{reg: reg, log: log, stages: map[apikey.Stage]chan struct{}{}, deadlines: map[apikey.Deadline]struct{}{}}
}

// stage starts recording s unless this container already did (or is doing
// so), and returns a channel closed once the record was attempted.
func (t *tracker) stage(ctx context.Context, s apikey.Stage, now time.Time) <-chan struct{} {
	t.mu.Lock()
	done, seen := t.stages[s]
	if !seen {
		done = make(chan struct{})
		t.stages[s] = done
	}
	t.mu.Unlock()
	if seen {
		return done
	}
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := t.reg.RecordStage(ctx, s, now); err != nil {
			t.log.LogAttrs(ctx, slog.LevelWarn, "stage not recorded",
				slog.String("apiId", s.APIID), slog.String("stage", s.Name), slog.String("error", err.Error()))
			t.mu.Lock()
			delete(t.stages, s) // a later request tries again
			t.mu.Unlock()
		}
	}()
	return done
}

// wait waits for done, at most trackerWait.
func wait(done <-chan struct{}) {
	if done == nil {
		return
	}
	timer := time.NewTimer(trackerWait)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
}

// deadlinesOf returns the moments, within MaxGatewayCacheTTL of now, at
// which k's credentials stop working by themselves: its expiry and the end
// of its previous secret's grace period.
func deadlinesOf(k *apikey.StoredKey, now time.Time) []apikey.Deadline {
	var out []apikey.Deadline
	for _, at := range []*time.Time{k.ExpiresAt, k.PreviousSecretExpiresAt} {
		if at != nil && at.After(now) && at.Sub(now) <= MaxGatewayCacheTTL {
			out = append(out, apikey.Deadline{KeyID: k.ID, At: at.UTC()})
		}
	}
	return out
}

// deadline records k's deadlines near now that this container has not
// recorded yet. It runs only for an Allow near expiry, at most once per key
// and deadline per container, bounded by trackerWait.
func (t *tracker) deadline(ctx context.Context, k *apikey.StoredKey, now time.Time) {
	for _, d := range deadlinesOf(k, now) {
		t.mu.Lock()
		_, seen := t.deadlines[d]
		if !seen {
			if len(t.deadlines) >= maxTrackedDeadlines {
				clear(t.deadlines)
			}
			t.deadlines[d] = struct{}{}
		}
		t.mu.Unlock()
		if seen {
			continue
		}
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), trackerWait)
		err := t.reg.RecordDeadline(wctx, d)
		cancel()
		if err != nil {
			t.log.LogAttrs(ctx, slog.LevelWarn, "deadline not recorded",
				slog.String("keyId", d.KeyID), slog.String("error", err.Error()))
			t.mu.Lock()
			delete(t.deadlines, d)
			t.mu.Unlock()
		}
	}
}
