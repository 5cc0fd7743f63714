package authorizer

import (
	"context"
	"sync"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
)

// maxCachedKeys bounds the key cache, whose negative entries an attacker
// could otherwise grow with random well-formed key IDs.
const maxCachedKeys = 50_000

// entry is one cached lookup: a key (with its parsed allow-list) or, when
// key is nil, the knowledge that no such key exists.
type entry struct {
	key     *apikey.StoredKey
	allow   *allowList
	expires time.Time
}

// keyCache puts a short-lived in-memory cache, positive and negative, in
// front of the store's one consistent GetItem. Failures are never cached.
type keyCache struct {
	store apikey.KeyGetter
	ttl   time.Duration
	now   func() time.Time

	mu sync.RWMutex
	m  map[string]*entry
}

func newKeyCache(store apikey.KeyGetter, ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{store: store, ttl: ttl, now: now, m: map[string]*entry{}}
}

// get returns the fresh cached entry for id, or reads the store once.
// Errors are store failures only; an unknown key is an entry with no key.
func (c *keyCache) get(ctx context.Context, id string) (*entry, error) {
	if c.ttl > 0 {
		now := c.now()
		c.mu.RLock()
		e := c.m[id]
		c.mu.RUnlock()
		if e != nil && now.Before(e.expires) {
			return e, nil
		}
	}
	k, err := c.store.GetKey(ctx, id)
	e := &entry{}
	switch {
	case err == nil:
		e.key, e.allow = k, compileAllowList(k.AllowList)
	case apikey.ErrorCode(err) == apikey.ECodeNotFound:
	default:
		return nil, err
	}
	if c.ttl > 0 {
		now := c.now()
		e.expires = now.Add(c.ttl)
		c.mu.Lock()
		if len(c.m) >= maxCachedKeys {
			c.evict(now)
		}
		c.m[id] = e
		c.mu.Unlock()
	}
	return e, nil
}

// evict drops expired entries and, if that frees nothing, an arbitrary
// tenth of the rest. The caller holds c.mu.
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
