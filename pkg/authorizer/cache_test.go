package authorizer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
)

// notFound is a KeyGetter that knows no key.
type notFound struct{}

func (notFound) GetKey(context.Context, string) (*apikey.StoredKey, error) {
	return nil, apikey.ErrNotFound
}

// TestExpiredEntriesAreSweptOncePerTTL: past sweepAbove entries, the cache
// drops what has expired once per TTL, so it holds the keys of about one
// TTL rather than every key seen until maxCachedKeys.
func TestExpiredEntriesAreSweptOncePerTTL(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c := newKeyCache(notFound{}, 2*time.Second, true, func() time.Time { return now })
	ctx := context.Background()
	load := func(n int, prefix string) {
		for i := range n {
			if _, _, err := c.get(ctx, fmt.Sprintf("%s%d", prefix, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	load(3*sweepAbove, "a")
	if got := len(c.m); got != 3*sweepAbove {
		t.Fatalf("%d entries within one TTL, want all %d kept", got, 3*sweepAbove)
	}
	now = now.Add(2 * time.Second)
	load(1, "b")
	if got := len(c.m); got != 1 {
		t.Errorf("%d entries a TTL later, want only the new one", got)
	}
	// Below sweepAbove nothing is swept: small caches cost no scans.
	now = now.Add(10 * time.Second)
	load(2, "c")
	if got := len(c.m); got != 3 {
		t.Errorf("%d entries, want 3 (no sweep below %d)", got, sweepAbove)
	}
}
