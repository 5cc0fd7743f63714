package authorizer

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
)

// maxCachedKeys bounds the key cache, whose negative entries an attacker
// could otherwise grow with random well-formed key IDs.
const maxCachedKeys = 50_000

// sweepAbove is the size from which the cache drops its expired entries once
// per TTL, so a container keeps in memory only the keys of its last TTL (a
// cached key is a few KB) rather than every key it has seen until the bound
// is reached.
const sweepAbove = 1024

// entry is one cached lookup: a key, with what every Allow for it repeats
// (its parsed allow-list and its authorizer context), or, when key is nil,
// the knowledge that no such key exists.
type entry struct {
	key     *apikey.StoredKey
	allow   *apikey.AllowMatcher
	context map[string]any // shared by every response: read-only
	expires time.Time
}

func newEntry(k *apikey.StoredKey) *entry {
	return &entry{
		key:   decisive(k),
		allow: apikey.NewAllowMatcher(k.AllowList),
		context: map[string]any{
			"tenantId": k.TenantID,
			"keyId":    k.ID,
			"keyName":  k.Name,
			"keyType":  k.Type,
			"scopes":   strings.Join(k.Scopes, " "),
			"metadata": metadataJSON(k.Metadata),
		},
	}
}

// decisive is the part of k that decisions read once its entry is built
// (the verification, the route's scopes, the log's tenant, the flush
// deadline): a cached key keeps no description, metadata (the context holds
// its JSON) or history, so a container's memory grows with its keys' number,
// not with what they hold.
func decisive(k *apikey.StoredKey) *apikey.StoredKey {
	return &apikey.StoredKey{
		Key: apikey.Key{
			ID: k.ID, TenantID: k.TenantID, Scopes: k.Scopes, Status: k.Status,
			ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, PreviousSecretExpiresAt: k.PreviousSecretExpiresAt,
		},
		SecretHash: k.SecretHash, PreviousHash: k.PreviousHash, TenantSuspended: k.TenantSuspended,
	}
}

// MaxMetadataContext bounds the key's metadata handed to integrations (as
// JSON text in the context's metadata); larger metadata is passed as "{}"
// (see metadataJSON).
const MaxMetadataContext = 4096

// metadataJSON renders metadata as JSON text for the authorizer context,
// which holds only strings, numbers and booleans: "{}" when there is none or
// when it would exceed MaxMetadataContext bytes (metadata of at most 32
// entries of 64 + 512 characters can).
func metadataJSON(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil || len(b) > MaxMetadataContext {
		return "{}"
	}
	return string(b)
}

// minRefreshAge is how old a cached key must be before a secret that does not
// match it makes the cache read the key again (a secret rotated moments ago).
// It bounds the reads that wrong secrets for a real key ID can cause.
const minRefreshAge = 250 * time.Millisecond

// keyCache puts a short-lived in-memory cache in front of the store's one
// consistent GetItem. Absent keys are always cached; keys themselves only
// when positive is set (API Gateway does not cache results), because a key
// served from memory after a revocation's flush would be cached again by the
// gateway for its whole TTL. Failures are never cached.
type keyCache struct {
	store    apikey.KeyGetter
	ttl      time.Duration
	positive bool
	now      func() time.Time

	mu    sync.RWMutex
	m     map[string]*entry
	swept time.Time // the last sweep of expired entries
}

func newKeyCache(store apikey.KeyGetter, ttl time.Duration, positive bool, now func() time.Time) *keyCache {
	return &keyCache{store: store, ttl: ttl, positive: positive, now: now, m: map[string]*entry{}}
}

// get returns the fresh cached entry for id (hit), or reads the store once.
// Errors are store failures only; an unknown key is an entry with no key.
func (c *keyCache) get(ctx context.Context, id string) (e *entry, hit bool, err error) {
	if c.ttl > 0 {
		now := c.now()
		c.mu.RLock()
		e := c.m[id]
		c.mu.RUnlock()
		if e != nil && now.Before(e.expires) && (e.key == nil || c.positive) {
			return e, true, nil
		}
	}
	e, err = c.load(ctx, id)
	return e, false, err
}

// refresh reads id again unless the cached entry was loaded less than
// minRefreshAge ago; it reports whether it read.
func (c *keyCache) refresh(ctx context.Context, id string, cached *entry) (*entry, bool, error) {
	if c.now().Before(cached.expires.Add(-c.ttl + minRefreshAge)) {
		return cached, false, nil
	}
	e, err := c.load(ctx, id)
	return e, err == nil, err
}

// load reads id from the store and caches what it found.
func (c *keyCache) load(ctx context.Context, id string) (*entry, error) {
	k, err := c.store.GetKey(ctx, id)
	var e *entry
	switch {
	case err == nil:
		e = newEntry(k)
	case apikey.ErrorCode(err) == apikey.ECodeNotFound:
		e = &entry{}
	default:
		return nil, err
	}
	if c.ttl > 0 {
		now := c.now()
		e.expires = now.Add(c.ttl)
		c.mu.Lock()
		if len(c.m) >= maxCachedKeys || (len(c.m) >= sweepAbove && !now.Before(c.swept.Add(c.ttl))) {
			c.evict(now)
			c.swept = now
		}
		c.m[id] = e
		c.mu.Unlock()
	}
	return e, nil
}

// evict drops expired entries and, if the cache is still more than nine
// tenths full, arbitrary entries down to that. The caller holds c.mu.
func (c *keyCache) evict(now time.Time) {
	for id, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, id)
		}
	}
	drop := len(c.m) - maxCachedKeys*9/10
	for id := range c.m {
		if drop <= 0 {
			break
		}
		delete(c.m, id)
		drop--
	}
}
