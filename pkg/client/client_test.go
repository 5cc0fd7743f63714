package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// newTestClient serves h on loopback and records the waits between retries
// instead of sleeping them.
func newTestClient(t *testing.T, h http.HandlerFunc, opts ...Option) (*Client, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, "kw_test", opts...)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	c.jitter = func(n int64) int64 { return n / 2 }
	return c, &waits
}

func TestRetriesOn503And429HonouringRetryAfter(t *testing.T) {
	var calls atomic.Int32
	c, waits := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(503)
			fmt.Fprint(w, `{"error":{"code":"unavailable","message":"busy"}}`)
		case 2:
			w.WriteHeader(429)
			fmt.Fprint(w, `{"error":{"code":"throttled","message":"too many requests"}}`)
		default:
			fmt.Fprint(w, `{"keyId":"key_01ARZ3NDEKTSV4RRFFQ69G5FAV","tenantId":"acme","name":"n","type":"","scopes":[]}`)
		}
	})
	w, err := c.Whoami(context.Background())
	if err != nil || w.TenantID != "acme" {
		t.Fatalf("Whoami = %v, %v", w, err)
	}
	if got := *waits; len(got) != 2 || got[0] != 2*time.Second || got[1] != 200*time.Millisecond {
		t.Errorf("waits = %v, want [2s (Retry-After) 200ms (half of 2·200ms, jittered)]", got)
	}
}

func TestGivesUpAfterRetriesWithTheAPIError(t *testing.T) {
	var calls atomic.Int32
	c, waits := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "600")
		w.WriteHeader(503)
		fmt.Fprint(w, `{"error":{"code":"unavailable","message":"busy"}}`)
	}, WithRetries(2))
	_, err := c.GetKey(context.Background(), "key_01ARZ3NDEKTSV4RRFFQ69G5FAV")
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 503 || e.Code != "unavailable" || e.RetryAfter != 600*time.Second {
		t.Fatalf("err = %#v", err)
	}
	if calls.Load() != 3 {
		t.Errorf("calls = %d, want 3 (1 + 2 retries)", calls.Load())
	}
	for _, w := range *waits {
		if w != 30*time.Second {
			t.Errorf("wait %v, want the 30 s cap on Retry-After", w)
		}
	}
}

func TestRefusalsAreNotRetriedAndNameTheField(t *testing.T) {
	var calls atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":{"code":"invalid_request","message":"scopes: at least one scope is required","field":"scopes"}}`)
	})
	_, err := c.CreateKey(context.Background(), CreateKeyInput{Name: "x"})
	var e *Error
	if !errors.As(err, &e) || e.Field != "scopes" || !e.Refused() || ErrorCode(err) != "invalid_request" {
		t.Fatalf("err = %#v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("a 400 was sent %d times", calls.Load())
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	c, _ := newTestClient(t, func(http.ResponseWriter, *http.Request) {})
	c.jitter = func(n int64) int64 { return n - 1 }
	prev := time.Duration(0)
	for n := 0; n < 10; n++ {
		d := c.backoff(n, 0)
		if d < prev || d >= c.maxBackoff {
			t.Errorf("backoff(%d) = %v after %v; want growing and under %v", n, d, prev, c.maxBackoff)
		}
		prev = d
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "3": 3 * time.Second, "-1": 0, "soon": 0,
		now.Add(7 * time.Second).Format(http.TimeFormat): 7 * time.Second,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestKeysIteratesEveryPage(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			fmt.Fprint(w, `{"items":[{"id":"key_1"},{"id":"key_2"}],"nextCursor":"c2"}`)
		case "c2":
			fmt.Fprint(w, `{"items":[{"id":"key_3"}],"nextCursor":null}`)
		default:
			w.WriteHeader(400)
		}
	})
	var ids []string
	for k, err := range c.Keys(context.Background(), ListKeysParams{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ID)
	}
	if fmt.Sprint(ids) != "[key_1 key_2 key_3]" {
		t.Errorf("ids = %v", ids)
	}
}

func TestOpenAPISendsNoCredentials(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			w.WriteHeader(400)
			return
		}
		fmt.Fprint(w, `{"openapi":"3.1.0"}`)
	})
	if _, err := c.OpenAPI(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestVerifierCacheIsBoundedAndExpires(t *testing.T) {
	var calls atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprint(w, `{"valid":true,"code":"VALID","keyId":"key_01ARZ3NDEKTSV4RRFFQ69G5FAV"}`)
	})
	v := NewVerifier(c, WithCache(time.Minute, 2))
	now := time.Unix(1000, 0)
	v.cache.now = func() time.Time { return now }
	if v.cache.ttl != MaxCacheTTL {
		t.Errorf("ttl = %v, want capped at %v", v.cache.ttl, MaxCacheTTL)
	}
	ctx := context.Background()
	for _, tok := range []string{"a", "a", "b", "c", "a"} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	// a (miss), a (hit), b, c (a dropped: size 2), a (miss again)
	if calls.Load() != 4 || v.cache.len() != 2 {
		t.Errorf("calls %d, entries %d; want 4 and 2", calls.Load(), v.cache.len())
	}
	now = now.Add(MaxCacheTTL)
	if _, err := v.Verify(ctx, "a"); err != nil || calls.Load() != 5 {
		t.Errorf("a verdict older than the TTL was reused (calls %d)", calls.Load())
	}
	if NewVerifier(c).cache != nil {
		t.Errorf("the cache is on without WithCache")
	}
}

func TestNewRefusesABadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "127.0.0.1:3000", "http://"} {
		if _, err := New(u, "t"); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}
