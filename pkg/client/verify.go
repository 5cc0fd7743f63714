package client

import (
	"container/list"
	"context"
	"crypto/sha256"
	"net/http"
	"sync"
	"time"
)

// Verification codes of POST /v1/verify.
const (
	VerifyValid         = "VALID"
	VerifyNotFound      = "NOT_FOUND"
	VerifyRevoked       = "REVOKED"
	VerifyExpired       = "EXPIRED"
	VerifyInvalidSecret = "INVALID_SECRET"
	VerifyMalformed     = "MALFORMED"
	// VerifyTenantSuspended: the key's tenant is suspended.
	VerifyTenantSuspended = "TENANT_SUSPENDED"
)

// Verification is the verdict on a token. Valid is true exactly when Code
// is VALID; the key is described then. For REVOKED and EXPIRED only KeyID
// is set. A key of another tenant than the verifying key's is NOT_FOUND.
type Verification struct {
	Valid     bool              `json:"valid"`
	Code      string            `json:"code"`
	KeyID     string            `json:"keyId,omitempty"`
	TenantID  string            `json:"tenantId,omitempty"`
	Name      string            `json:"name,omitempty"`
	Type      string            `json:"type,omitempty"`
	Scopes    []string          `json:"scopes,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	ExpiresAt *time.Time        `json:"expiresAt,omitempty"`
}

// Verify checks a token (or an Authorization header value, "Bearer …" or
// "Basic …") with POST /v1/verify; the calling key needs keys:verify. Every
// verdict is a *Verification; an error means no verdict was reached.
func (c *Client) Verify(ctx context.Context, token string) (*Verification, error) {
	b, err := jsonBody(struct {
		Token string `json:"token"`
	}{token})
	if err != nil {
		return nil, err
	}
	var v Verification
	if _, err := c.call(ctx, request{method: http.MethodPost, path: "/v1/verify", body: b}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// MaxCacheTTL bounds a Verifier's cache TTL.
const MaxCacheTTL = 5 * time.Second

// Verifier checks the tokens a service receives, through POST /v1/verify,
// for services that are not behind keyward's API Gateway authorizer.
//
// Without a cache every call asks keyward, so a revoked, expired or rotated-
// away token is refused at once. With WithCache(ttl, size) a verdict is
// reused for up to ttl (at most 5 s): a token revoked (or rotated away, or
// expired) just after it was verified may still be accepted by this process
// for up to ttl more. That is the revocation bound the cache implies; keep
// ttl short, or leave the cache off where that matters more than latency.
// Errors are never cached. The cache holds SHA-256 digests of tokens, never
// the tokens themselves, and at most size entries (least recently used are
// dropped first). A Verifier is safe for concurrent use.
type Verifier struct {
	c     *Client
	cache *verdictCache
}

// VerifierOption customises a Verifier.
type VerifierOption func(*Verifier)

// WithCache keeps verdicts in memory for ttl (capped at MaxCacheTTL), at most
// size of them. ttl ≤ 0 or size ≤ 0 leaves the cache off.
func WithCache(ttl time.Duration, size int) VerifierOption {
	return func(v *Verifier) {
		if ttl <= 0 || size <= 0 {
			v.cache = nil
			return
		}
		v.cache = newVerdictCache(min(ttl, MaxCacheTTL), size, time.Now)
	}
}

// NewVerifier returns a Verifier calling through c, whose key needs
// keys:verify.
func NewVerifier(c *Client, opts ...VerifierOption) *Verifier {
	v := &Verifier{c: c}
	for _, o := range opts {
		o(v)
	}
	return v
}

// Verify returns the verdict on token, from the cache when a fresh one is
// there. The returned value must not be modified.
func (v *Verifier) Verify(ctx context.Context, token string) (*Verification, error) {
	if v.cache == nil {
		return v.c.Verify(ctx, token)
	}
	key := sha256.Sum256([]byte(token))
	if got, ok := v.cache.get(key); ok {
		return got, nil
	}
	got, err := v.c.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	v.cache.put(key, got)
	return got, nil
}

// verdictCache is a bounded LRU of verdicts with a fixed TTL.
type verdictCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	size  int
	now   func() time.Time
	order *list.List // front = most recently used; values are *verdictEntry
	byKey map[[32]byte]*list.Element
}

type verdictEntry struct {
	key     [32]byte
	v       *Verification
	expires time.Time
}

func newVerdictCache(ttl time.Duration, size int, now func() time.Time) *verdictCache {
	return &verdictCache{ttl: ttl, size: size, now: now, order: list.New(), byKey: map[[32]byte]*list.Element{}}
}

func (c *verdictCache) get(key [32]byte) (*Verification, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*verdictEntry)
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.byKey, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.v, true
}

func (c *verdictCache) put(key [32]byte, v *Verification) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.order.Remove(el)
	}
	c.byKey[key] = c.order.PushFront(&verdictEntry{key: key, v: v, expires: c.now().Add(c.ttl)})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*verdictEntry).key)
	}
}

func (c *verdictCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
