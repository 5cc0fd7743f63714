// Package retry holds the waiting that keyward's retry loops share: a sleep
// that ends early when the context does, and an exponential backoff with
// equal jitter.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits d, or until ctx is done (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is the wait before retry number attempt (0 for the first retry):
// base doubled per attempt, capped at maxWait, then a random point in its upper
// half so that callers throttled together do not retry together.
func Backoff(attempt int, base, maxWait time.Duration) time.Duration {
	d := maxWait
	if attempt < 30 {
		d = min(maxWait, base<<attempt)
	}
	return d/2 + rand.N(d/2+1)
}
