// Package lastused records when keys were last used, at most once per
// interval per key: an in-memory throttle in front of the store's conditional
// write to the key's usage item. The usage item is its own small item, so a
// use touches neither the key item, its stream (the audit trail) nor the
// tenant's listing index. A failed write is logged and otherwise ignored, so
// recording use never fails a request.
package lastused

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultInterval is how often a key's lastUsedAt is written at most.
const DefaultInterval = time.Minute

// DefaultTimeout bounds one write, so a slow table delays a decision by at
// most this much.
const DefaultTimeout = 500 * time.Millisecond

// maxTracked bounds the throttle's memory; past it, entries older than the
// interval are dropped (and, if none are, all of them).
const maxTracked = 100_000

// Toucher writes lastUsedAt unless it was written less than minInterval
// before at; *dynamostore.Store satisfies it.
type Toucher interface {
	TouchLastUsed(ctx context.Context, id string, at time.Time, minInterval time.Duration) (bool, error)
}

// Recorder throttles and performs lastUsedAt writes. It is safe for
// concurrent use.
type Recorder struct {
	store    Toucher
	interval time.Duration
	timeout  time.Duration
	log      *slog.Logger

	mu   sync.Mutex
	last map[string]time.Time
}

// New returns a Recorder writing through store at most once per interval per
// key (DefaultInterval when interval <= 0), logging failures to log
// (slog.Default when nil).
func New(store Toucher, interval time.Duration, log *slog.Logger) *Recorder {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if log == nil {
		log = slog.Default()
	}
	return &Recorder{store: store, interval: interval, timeout: DefaultTimeout, log: log, last: map[string]time.Time{}}
}

// Record notes that key id was used at now. It writes only when this process
// has not written for the key within the interval, and the store's condition
// skips the write when another process has. It never returns an error.
func (r *Recorder) Record(ctx context.Context, id string, now time.Time) {
	if r.claim(id, now) {
		r.write(ctx, id, now)
	}
}

// Start is Record with the write (if any) running in the background: the
// caller answers meanwhile and calls Wait on the result before its process
// may be frozen or stop (a Lambda function: before the runtime asks for the
// next event), so no write is left unfinished. The write is bounded by the
// Recorder's timeout either way.
func (r *Recorder) Start(ctx context.Context, id string, now time.Time) Pending {
	if !r.claim(id, now) {
		return Pending{}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.write(ctx, id, now)
	}()
	return Pending{done: done}
}

// Pending is a write started by Start; the zero Pending is no write.
type Pending struct{ done chan struct{} }

// Wait returns once the write has ended (written, skipped by the store's
// condition, failed and logged, or timed out).
func (p Pending) Wait() {
	if p.done != nil {
		<-p.done
	}
}

// write performs one claimed write, bounded by the timeout; a failure is
// logged.
func (r *Recorder) write(ctx context.Context, id string, now time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	if _, err := r.store.TouchLastUsed(ctx, id, now, r.interval); err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "lastUsedAt not recorded",
			slog.String("keyId", id), slog.String("error", err.Error()))
	}
}

// claim reports whether this call should write, and marks the key as written
// at now. Like the store's condition, a write exactly one interval after the
// last is skipped. A failed write is not retried before the interval passes, so a
// struggling table is not hit on every request.
func (r *Recorder) claim(id string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.last[id]; ok && now.Sub(t) <= r.interval && !now.Before(t) {
		return false
	}
	if len(r.last) >= maxTracked {
		for k, t := range r.last {
			if now.Sub(t) > r.interval || now.Before(t) {
				delete(r.last, k)
			}
		}
		if len(r.last) >= maxTracked {
			clear(r.last)
		}
	}
	r.last[id] = now
	return true
}
