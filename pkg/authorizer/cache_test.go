package authorizer

import (
	"context"
	"fmt"
	"strings"
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

// TestCachedKeyKeepsOnlyWhatDecisionsRead: a cached key drops its
// description, metadata and history (the context keeps the metadata's JSON),
// so a container's memory does not grow with what its keys hold.
func TestCachedKeyKeepsOnlyWhatDecisionsRead(t *testing.T) {
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	k := &apikey.StoredKey{Key: apikey.Key{
		ID: "key_01JD0000000000000000000000", TenantID: "acme", Name: "CRM", Type: "integration",
		Description: strings.Repeat("d", 1000), Metadata: map[string]string{"owner": "ops"},
		Scopes: []string{"recordings:read"}, Status: apikey.StatusActive, ExpiresAt: &exp, CreatedBy: "someone",
	}, SecretHash: apikey.Hash{Version: 1, Sum: []byte{1}}, Change: apikey.Change{Actor: "someone"}}
	e := newEntry(k)
	if e.key.Description != "" || e.key.Metadata != nil || e.key.CreatedBy != "" || e.key.Change.Actor != "" || e.key.Name != "" {
		t.Errorf("cached key keeps %+v", e.key)
	}
	if e.key.ID != k.ID || e.key.TenantID != "acme" || e.key.ExpiresAt != &exp || e.key.SecretHash.Version != 1 || len(e.key.Scopes) != 1 {
		t.Errorf("cached key lost what decisions read: %+v", e.key)
	}
	if got := e.context["metadata"]; got != `{"owner":"ops"}` || e.context["keyName"] != "CRM" {
		t.Errorf("context = %v", e.context)
	}
}
