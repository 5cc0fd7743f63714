package kmspepper_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/workbench/localkms"
)

const keyAlias = "alias/keyward-pepper"

// memStore is an in-memory apikey.PepperStore with PutPepper's conditional
// semantics and hooks for failures.
type memStore struct {
	mu      sync.Mutex
	recs    map[int]apikey.PepperRecord
	lists   int
	puts    int
	listErr error
	// hideOnce, if set, hides versions above it from the next ListPeppers,
	// as a read that raced another process's write would.
	hideOnce int
}

func newMemStore() *memStore { return &memStore{recs: map[int]apikey.PepperRecord{}} }

func (s *memStore) ListPeppers(context.Context) ([]apikey.PepperRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	if s.listErr != nil {
		return nil, s.listErr
	}
	var out []apikey.PepperRecord
	for _, r := range s.recs {
		if s.hideOnce > 0 && r.Version > s.hideOnce {
			continue
		}
		r.Ciphertext = bytes.Clone(r.Ciphertext)
		out = append(out, r)
	}
	s.hideOnce = 0
	slices.SortFunc(out, func(a, b apikey.PepperRecord) int { return a.Version - b.Version })
	return out, nil
}

func (s *memStore) PutPepper(_ context.Context, rec apikey.PepperRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	if _, ok := s.recs[rec.Version]; ok {
		return fmt.Errorf("memstore: version %d exists: %w", rec.Version, apikey.ErrConflict)
	}
	rec.Ciphertext = bytes.Clone(rec.Ciphertext)
	s.recs[rec.Version] = rec
	return nil
}

func (s *memStore) records() []apikey.PepperRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []apikey.PepperRecord
	for _, r := range s.recs {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b apikey.PepperRecord) int { return a.Version - b.Version })
	return out
}

func (s *memStore) set(f func(*memStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// countingKMS counts calls to a real client and remembers generated
// plaintexts so tests can check what is (not) stored.
type countingKMS struct {
	kmspepper.KMS
	delay        time.Duration // before each GenerateDataKey
	decryptDelay time.Duration // before each Decrypt
	onGenerate   func()        // if set, called at the start of each GenerateDataKey
	generates    atomic.Int32
	decrypts     atomic.Int32
	mu           sync.Mutex
	plaintexts   [][]byte
}

func (c *countingKMS) GenerateDataKey(ctx context.Context, in *kmsclient.GenerateDataKeyInput) (*kmsclient.GenerateDataKeyOutput, error) {
	c.generates.Add(1)
	if c.onGenerate != nil {
		c.onGenerate()
	}
	if err := sleep(ctx, c.delay); err != nil {
		return nil, err
	}
	out, err := c.KMS.GenerateDataKey(ctx, in)
	if err == nil {
		c.mu.Lock()
		c.plaintexts = append(c.plaintexts, bytes.Clone(out.Plaintext))
		c.mu.Unlock()
	}
	return out, err
}

func (c *countingKMS) Decrypt(ctx context.Context, in *kmsclient.DecryptInput) (*kmsclient.DecryptOutput, error) {
	c.decrypts.Add(1)
	if err := sleep(ctx, c.decryptDelay); err != nil {
		return nil, err
	}
	return c.KMS.Decrypt(ctx, in)
}

// isInvalidCiphertext reports whether err holds KMS's InvalidCiphertextException.
func isInvalidCiphertext(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "InvalidCiphertextException"
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// localKMS is a localkms server with the pepper key, persisted to a file so
// it can be stopped and started again on the same address.
type localKMS struct {
	tb   testing.TB
	path string
	addr string
	arn  string
	srv  *localkms.Server
	stop func() error
}

func mustLocalKMS(tb testing.TB) *localKMS {
	tb.Helper()
	l := &localKMS{tb: tb, path: filepath.Join(tb.TempDir(), "kms.json"), addr: "127.0.0.1:0"}
	l.start()
	tb.Cleanup(func() {
		if l.stop != nil {
			_ = l.stop()
		}
	})
	return l
}

func (l *localKMS) start() {
	l.tb.Helper()
	s, err := localkms.New(localkms.WithFile(l.path))
	if err != nil {
		l.tb.Fatal(err)
	}
	if l.arn, err = s.EnsureKey(keyAlias); err != nil {
		l.tb.Fatal(err)
	}
	url, stop, err := s.Start(l.addr)
	if err != nil {
		l.tb.Fatal(err)
	}
	l.srv, l.addr, l.stop = s, strings.TrimPrefix(url, "http://"), stop
}

func (l *localKMS) down() {
	l.tb.Helper()
	if err := l.stop(); err != nil {
		l.tb.Fatal(err)
	}
	l.stop = nil
}

// client returns the functions' KMS client (package kmsclient) for the
// server; it does not retry, so a down server fails fast.
func (l *localKMS) client() *countingKMS {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", "")}
	c := kmsclient.NewFromConfig(cfg, func(o *kmsclient.Options) {
		o.BaseEndpoint = "http://" + l.addr
		o.RetryMaxAttempts = 1
	})
	return &countingKMS{KMS: c}
}

// bubbleClient is client without sockets: each request is served by the
// server in the caller's goroutine, so inside a testing/synctest bubble the
// fake clock moves only when every goroutine waits on the test's own terms.
func (l *localKMS) bubbleClient() *countingKMS {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", "")}
	c := kmsclient.NewFromConfig(cfg, func(o *kmsclient.Options) {
		o.BaseEndpoint = "http://kms.local"
		o.HTTPClient = &http.Client{Transport: inProcess{l.srv}}
		o.RetryMaxAttempts = 1
	})
	return &countingKMS{KMS: c}
}

// inProcess serves a request with h in the calling goroutine.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func sum(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// counts returns how often ListPeppers and PutPepper were called.
func (s *memStore) counts() (lists, puts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists, s.puts
}

// bootstrap creates pepper version 1 in store with a Hasher of its own, as
// the bootstrap does before any request is served.
func bootstrap(tb testing.TB, l *localKMS, store apikey.PepperStore) {
	tb.Helper()
	v, err := kmspepper.New(l.client(), store, keyAlias).EnsureCurrent(context.Background())
	if err != nil {
		tb.Fatalf("bootstrap: %v", err)
	}
	if v != 1 {
		tb.Fatalf("bootstrap: EnsureCurrent = %d, want 1", v)
	}
}

func TestEnsureCurrentCreatesVersionOneOnce(t *testing.T) {
	l := mustLocalKMS(t)
	store := newMemStore()
	k := l.client()
	k.delay = 50 * time.Millisecond // let the callers pile up on the creation
	h := kmspepper.New(k, store, keyAlias)

	const callers = 20
	ctx := context.Background()
	versions := make([]int, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			versions[i], errs[i] = h.EnsureCurrent(ctx)
		})
	}
	close(start)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if got, want := versions[i], 1; got != want {
			t.Fatalf("caller %d: EnsureCurrent = %d, want %d", i, got, want)
		}
	}
	if got, want := k.generates.Load(), int32(1); got != want {
		t.Errorf("GenerateDataKey calls = %d, want %d", got, want)
	}
	if got, want := k.decrypts.Load(), int32(0); got != want {
		t.Errorf("Decrypt calls = %d, want %d (the generated plaintext is used directly)", got, want)
	}
	if got, want := len(store.records()), 1; got != want {
		t.Fatalf("stored versions = %d, want %d", got, want)
	}
	if _, puts := store.counts(); puts != 1 {
		t.Errorf("PutPepper calls = %d, want 1", puts)
	}

	want, err := h.Hash(ctx, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if want.Version != 1 || !bytes.Equal(want.Sum, sum(k.plaintexts[0], []byte("secret"))) {
		t.Fatalf("Hash = v%d, want v1 keyed by the generated pepper", want.Version)
	}
	if g, d := k.generates.Load(), k.decrypts.Load(); g != 1 || d != 0 {
		t.Errorf("after Hash: GenerateDataKey, Decrypt calls = %d, %d; want 1, 0", g, d)
	}

	t.Run("AnotherProcessLoadsTheStoredVersionWithoutCreating", func(t *testing.T) {
		_, putsBefore := store.counts()
		k2 := l.client()
		h2 := kmspepper.New(k2, store, keyAlias)
		for range 3 {
			if v, err := h2.EnsureCurrent(ctx); err != nil || v != 1 {
				t.Fatalf("EnsureCurrent = %d, %v; want 1", v, err)
			}
		}
		for range 5 {
			got, err := h2.Hash(ctx, []byte("secret"))
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != 1 || !bytes.Equal(got.Sum, want.Sum) {
				t.Fatalf("Hash = v%d, want v1 with the first process's sum", got.Version)
			}
		}
		if got, want := k2.generates.Load(), int32(0); got != want {
			t.Errorf("GenerateDataKey calls = %d, want %d", got, want)
		}
		if got, want := k2.decrypts.Load(), int32(1); got != want {
			t.Errorf("Decrypt calls = %d, want %d", got, want)
		}
		if _, puts := store.counts(); puts != putsBefore {
			t.Errorf("PutPepper calls = %d, want %d", puts, putsBefore)
		}
		if got, want := len(store.records()), 1; got != want {
			t.Errorf("stored versions = %d, want %d", got, want)
		}
	})

	t.Run("ConcurrentFirstLoadsListAndDecryptOnce", func(t *testing.T) {
		listsBefore, _ := store.counts()
		k3 := l.client()
		k3.decryptDelay = 50 * time.Millisecond // let the callers pile up on the load
		h3 := kmspepper.New(k3, store, keyAlias)
		hashes := make([]apikey.Hash, callers)
		errs := make([]error, callers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				<-start
				hashes[i], errs[i] = h3.Hash(ctx, []byte("secret"))
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("caller %d: %v", i, err)
			}
			if hashes[i].Version != 1 || !bytes.Equal(hashes[i].Sum, want.Sum) {
				t.Fatalf("caller %d: Hash = v%d, want v1 with the first process's sum", i, hashes[i].Version)
			}
		}
		if lists, _ := store.counts(); lists-listsBefore != 1 {
			t.Errorf("ListPeppers calls = %d, want 1", lists-listsBefore)
		}
		if got, want := k3.decrypts.Load(), int32(1); got != want {
			t.Errorf("Decrypt calls = %d, want %d", got, want)
		}
		if got, want := k3.generates.Load(), int32(0); got != want {
			t.Errorf("GenerateDataKey calls = %d, want %d", got, want)
		}
	})
}

func TestNoPepperBeforeBootstrap(t *testing.T) {
	l := mustLocalKMS(t)
	ctx := context.Background()
	store := newMemStore()
	k := l.client()
	h := kmspepper.New(k, store, keyAlias)
	secret := []byte("secret")

	t.Run("HashVerifyMACAddVersionReturnErrNoPepper", func(t *testing.T) {
		if _, err := h.Hash(ctx, secret); !errors.Is(err, kmspepper.ErrNoPepper) {
			t.Errorf("Hash: err = %v, want ErrNoPepper", err)
		}
		if ok, err := h.Verify(ctx, secret, apikey.Hash{Version: 1, Sum: make([]byte, sha256.Size)}); ok || !errors.Is(err, kmspepper.ErrNoPepper) {
			t.Errorf("Verify = %v, %v; want false, ErrNoPepper", ok, err)
		}
		if _, err := h.MAC(ctx, "cursor", []byte("data")); !errors.Is(err, kmspepper.ErrNoPepper) {
			t.Errorf("MAC: err = %v, want ErrNoPepper", err)
		}
		if _, err := h.AddVersion(ctx); !errors.Is(err, kmspepper.ErrNoPepper) {
			t.Errorf("AddVersion: err = %v, want ErrNoPepper", err)
		}
	})

	t.Run("ConcurrentCallsCreateNothing", func(t *testing.T) {
		const callers = 20
		errs := make([]error, 3*callers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				<-start
				_, errs[3*i] = h.Hash(ctx, secret)
			})
			wg.Go(func() {
				<-start
				_, errs[3*i+1] = h.Verify(ctx, secret, apikey.Hash{Version: 1})
			})
			wg.Go(func() {
				<-start
				_, errs[3*i+2] = h.MAC(ctx, "cursor", nil)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if !errors.Is(err, kmspepper.ErrNoPepper) {
				t.Fatalf("call %d: err = %v, want ErrNoPepper", i, err)
			}
		}
	})

	if got := k.generates.Load(); got != 0 {
		t.Errorf("GenerateDataKey calls = %d, want 0", got)
	}
	if got := k.decrypts.Load(); got != 0 {
		t.Errorf("Decrypt calls = %d, want 0", got)
	}
	if _, puts := store.counts(); puts != 0 {
		t.Errorf("PutPepper calls = %d, want 0", puts)
	}
	if n := len(store.records()); n != 0 {
		t.Fatalf("stored versions = %d, want 0", n)
	}

	t.Run("NotCachedOnceBootstrapped", func(t *testing.T) {
		bootstrap(t, l, store)
		got, err := h.Hash(ctx, secret)
		if err != nil {
			t.Fatalf("Hash after bootstrap: %v", err)
		}
		if got.Version != 1 {
			t.Fatalf("version = %d, want 1", got.Version)
		}
		if ok, err := h.Verify(ctx, secret, got); err != nil || !ok {
			t.Fatalf("Verify after bootstrap = %v, %v; want true", ok, err)
		}
		if _, err := h.MAC(ctx, "cursor", nil); err != nil {
			t.Fatalf("MAC after bootstrap: %v", err)
		}
		if g, d := k.generates.Load(), k.decrypts.Load(); g != 0 || d != 1 {
			t.Errorf("GenerateDataKey, Decrypt calls = %d, %d; want 0, 1", g, d)
		}
	})
}

func TestHashDuringEnsureCurrentNeverCreates(t *testing.T) {
	l := mustLocalKMS(t)
	ctx := context.Background()
	store := newMemStore()
	k := l.client()
	k.delay = 50 * time.Millisecond // Hash callers run while version 1 is being generated
	h := kmspepper.New(k, store, keyAlias)

	ensured := make(chan error, 1)
	go func() {
		_, err := h.EnsureCurrent(ctx)
		ensured <- err
	}()
	const callers = 20
	hashes := make([]apikey.Hash, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 5 * time.Millisecond)
			hashes[i], errs[i] = h.Hash(ctx, []byte("secret"))
		})
	}
	wg.Wait()
	if err := <-ensured; err != nil {
		t.Fatal(err)
	}
	want, err := h.Hash(ctx, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		switch {
		case errors.Is(err, kmspepper.ErrNoPepper):
		case err != nil:
			t.Fatalf("caller %d: err = %v, want nil or ErrNoPepper", i, err)
		case hashes[i].Version != 1 || !bytes.Equal(hashes[i].Sum, want.Sum):
			t.Fatalf("caller %d: Hash = v%d, want v1 with EnsureCurrent's pepper", i, hashes[i].Version)
		}
	}
	if got := k.generates.Load(); got != 1 {
		t.Errorf("GenerateDataKey calls = %d, want 1", got)
	}
	if got, want := len(store.records()), 1; got != want {
		t.Errorf("stored versions = %d, want %d", got, want)
	}
}

func TestLosingTheRaceForVersionOneUsesTheWinnersPepper(t *testing.T) {
	l := mustLocalKMS(t)
	store := newMemStore()
	ctx := context.Background()
	winner := kmspepper.New(l.client(), store, keyAlias)
	if _, err := winner.EnsureCurrent(ctx); err != nil {
		t.Fatal(err)
	}
	want, err := winner.Hash(ctx, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}

	// The loser's first list misses the winner's record, so it generates a
	// key of its own, and PutPepper answers conflict.
	loserKMS := l.client()
	loser := kmspepper.New(loserKMS, &hideFirstList{memStore: store}, keyAlias)
	if v, err := loser.EnsureCurrent(ctx); err != nil || v != 1 {
		t.Fatalf("loser EnsureCurrent = %d, %v; want 1", v, err)
	}
	got, err := loser.Hash(ctx, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != want.Version || !bytes.Equal(got.Sum, want.Sum) {
		t.Fatal("the loser hashes differently from the winner")
	}
	if g, w := loserKMS.generates.Load(), int32(1); g != w {
		t.Errorf("loser GenerateDataKey calls = %d, want %d", g, w)
	}
	if g, w := loserKMS.decrypts.Load(), int32(1); g != w {
		t.Errorf("loser Decrypt calls = %d, want %d", g, w)
	}
	if g, w := len(store.records()), 1; g != w {
		t.Errorf("stored versions = %d, want %d", g, w)
	}
}

// TestLosingTheRaceWhileAStaleLoadIsInFlight: when EnsureCurrent loses the
// race for version 1, a Hash in the same process may still be loading from a
// list taken before the winner stored it. That load's ErrNoPepper is stale;
// EnsureCurrent must not return it.
func TestLosingTheRaceWhileAStaleLoadIsInFlight(t *testing.T) {
	l := mustLocalKMS(t)
	ctx := context.Background()
	store := newMemStore()
	gated := &gatedStore{memStore: store, holdList: 2, listed: make(chan struct{}), release: make(chan struct{})}
	loserKMS := l.client()
	loser := kmspepper.New(loserKMS, gated, keyAlias)

	hashErr := make(chan error, 1)
	var once sync.Once
	loserKMS.onGenerate = func() {
		once.Do(func() {
			// EnsureCurrent listed nothing and is generating version 1. A
			// Hash now lists nothing too and is held before it answers; then
			// the winner stores version 1.
			go func() {
				_, err := loser.Hash(ctx, []byte("secret"))
				hashErr <- err
			}()
			<-gated.listed
			bootstrap(t, l, store)
		})
	}
	// Release the held list shortly after the loser's PutPepper conflicts,
	// once EnsureCurrent has had time to join the held load.
	gated.onConflict = func() {
		time.AfterFunc(50*time.Millisecond, func() { close(gated.release) })
	}

	v, err := loser.EnsureCurrent(ctx)
	if err != nil || v != 1 {
		t.Fatalf("loser EnsureCurrent = %d, %v; want 1", v, err)
	}
	if err := <-hashErr; !errors.Is(err, kmspepper.ErrNoPepper) {
		t.Fatalf("held Hash: err = %v, want ErrNoPepper (it listed before the winner stored)", err)
	}
	got, err := loser.Hash(ctx, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := kmspepper.New(l.client(), store, keyAlias).Hash(ctx, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || !bytes.Equal(got.Sum, want.Sum) {
		t.Fatal("the loser hashes differently from the winner")
	}
	if g := loserKMS.generates.Load(); g != 1 {
		t.Errorf("loser GenerateDataKey calls = %d, want 1", g)
	}
	if n := len(store.records()); n != 1 {
		t.Errorf("stored versions = %d, want 1", n)
	}
}

// gatedStore holds its holdList-th ListPeppers call (1-based) after reading
// the store, closing listed, until release is closed; onConflict, if set, is
// called when PutPepper answers conflict.
type gatedStore struct {
	*memStore
	holdList   int
	listed     chan struct{}
	release    chan struct{}
	onConflict func()
	n          atomic.Int32
}

func (s *gatedStore) ListPeppers(ctx context.Context) ([]apikey.PepperRecord, error) {
	recs, err := s.memStore.ListPeppers(ctx)
	if int(s.n.Add(1)) == s.holdList {
		close(s.listed)
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return recs, err
}

func (s *gatedStore) PutPepper(ctx context.Context, rec apikey.PepperRecord) error {
	err := s.memStore.PutPepper(ctx, rec)
	if errors.Is(err, apikey.ErrConflict) && s.onConflict != nil {
		s.onConflict()
	}
	return err
}

// hideFirstList answers the first ListPeppers with nothing.
type hideFirstList struct {
	*memStore
	done atomic.Bool
}

func (s *hideFirstList) ListPeppers(ctx context.Context) ([]apikey.PepperRecord, error) {
	if !s.done.Swap(true) {
		return nil, nil
	}
	return s.memStore.ListPeppers(ctx)
}

func TestVerify(t *testing.T) {
	l := mustLocalKMS(t)
	ctx := context.Background()
	h := kmspepper.New(l.client(), newMemStore(), keyAlias)
	if _, err := h.EnsureCurrent(ctx); err != nil {
		t.Fatal(err)
	}
	secret := []byte("kw_live_abc123")
	good, err := h.Hash(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(good.Sum)
	tampered[0] ^= 1
	tests := []struct {
		name   string
		secret []byte
		hash   apikey.Hash
		want   bool
	}{
		{"RightSecretMatches", secret, good, true},
		{"WrongSecretDoesNotMatch", []byte("kw_live_abc124"), good, false},
		{"EmptySecretDoesNotMatch", nil, good, false},
		{"TamperedSumDoesNotMatch", secret, apikey.Hash{Version: 1, Sum: tampered}, false},
		{"TruncatedSumDoesNotMatch", secret, apikey.Hash{Version: 1, Sum: good.Sum[:16]}, false},
		{"EmptySumDoesNotMatch", secret, apikey.Hash{Version: 1}, false},
		{"UnknownNewerVersionDoesNotMatch", secret, apikey.Hash{Version: 7, Sum: good.Sum}, false},
		{"VersionZeroDoesNotMatch", secret, apikey.Hash{Version: 0, Sum: good.Sum}, false},
		{"NegativeVersionDoesNotMatch", secret, apikey.Hash{Version: -1, Sum: good.Sum}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Verify(ctx, tt.secret, tt.hash)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAddVersion(t *testing.T) {
	l := mustLocalKMS(t)
	ctx := context.Background()
	store := newMemStore()
	h := kmspepper.New(l.client(), store, keyAlias)
	other := kmspepper.New(l.client(), store, keyAlias) // another process, loaded before the rotation

	secret := []byte("secret")
	if _, err := h.EnsureCurrent(ctx); err != nil {
		t.Fatal(err)
	}
	old, err := h.Hash(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.EnsureCurrent(ctx); err != nil {
		t.Fatal(err)
	}
	macBefore, err := h.MAC(ctx, "cursor", []byte("data"))
	if err != nil {
		t.Fatal(err)
	}

	v, err := h.AddVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v, 2; got != want {
		t.Fatalf("AddVersion = %d, want %d", got, want)
	}
	cur, err := h.Hash(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("NewHashUsesVersionTwo", func(t *testing.T) {
		if got, want := cur.Version, 2; got != want {
			t.Fatalf("Hash version = %d, want %d", got, want)
		}
		if bytes.Equal(cur.Sum, old.Sum) {
			t.Fatal("v2 hash equals v1 hash")
		}
	})
	t.Run("OldHashStillVerifies", func(t *testing.T) {
		if ok, err := h.Verify(ctx, secret, old); err != nil || !ok {
			t.Fatalf("Verify(v1) = %v, %v; want true", ok, err)
		}
	})
	t.Run("NewHashVerifies", func(t *testing.T) {
		if ok, err := h.Verify(ctx, secret, cur); err != nil || !ok {
			t.Fatalf("Verify(v2) = %v, %v; want true", ok, err)
		}
	})
	t.Run("OtherProcessVerifiesTheNewVersion", func(t *testing.T) {
		if ok, err := other.Verify(ctx, secret, cur); err != nil || !ok {
			t.Fatalf("Verify(v2) in the other process = %v, %v; want true", ok, err)
		}
	})
	t.Run("MACIsStable", func(t *testing.T) {
		after, err := h.MAC(ctx, "cursor", []byte("data"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(after, macBefore) {
			t.Fatal("MAC changed after AddVersion")
		}
		fromOther, err := other.MAC(ctx, "cursor", []byte("data"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fromOther, macBefore) {
			t.Fatal("MAC differs between processes")
		}
	})
	t.Run("NewProcessHashesWithVersionTwo", func(t *testing.T) {
		fresh := kmspepper.New(l.client(), store, keyAlias)
		got, err := fresh.Hash(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || !bytes.Equal(got.Sum, cur.Sum) {
			t.Fatalf("fresh Hash = v%d, want v2 with the same sum", got.Version)
		}
	})
	t.Run("ConflictingAddIsReportedAndRetryable", func(t *testing.T) {
		// other's view of the store misses v3 once, so it also tries to add v3.
		if v, err := h.AddVersion(ctx); err != nil || v != 3 {
			t.Fatalf("AddVersion = %d, %v; want 3", v, err)
		}
		store.set(func(s *memStore) { s.hideOnce = 2 })
		_, err := other.AddVersion(ctx)
		if !errors.Is(err, apikey.ErrConflict) || apikey.ErrorCode(err) != apikey.ECodeConflict {
			t.Fatalf("AddVersion err = %v, want conflict", err)
		}
		if v, err := other.AddVersion(ctx); err != nil || v != 4 {
			t.Fatalf("retried AddVersion = %d, %v; want 4", v, err)
		}
		if got, want := len(store.records()), 4; got != want {
			t.Fatalf("stored versions = %d, want %d", got, want)
		}
	})
}

func TestMAC(t *testing.T) {
	l := mustLocalKMS(t)
	ctx := context.Background()
	k := l.client()
	h := kmspepper.New(k, newMemStore(), keyAlias)
	if _, err := h.EnsureCurrent(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := h.MAC(ctx, "cursor", []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	pepper := k.plaintexts[0]
	tests := []struct {
		name    string
		purpose string
		data    string
		same    bool
	}{
		{"SameInputsGiveSameMAC", "cursor", "data", true},
		{"OtherPurposeGivesOtherMAC", "etag", "data", false},
		{"OtherDataGivesOtherMAC", "cursor", "datb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := h.MAC(ctx, tt.purpose, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Equal(a, b); got != tt.same {
				t.Fatalf("MAC equal = %v, want %v", got, tt.same)
			}
		})
	}
	t.Run("MACIsKeyedByDerivedKeyNotPepper", func(t *testing.T) {
		want := sum(sum(pepper, []byte("keyward/mac/cursor")), []byte("data"))
		if !bytes.Equal(a, want) {
			t.Fatal("MAC != HMAC(HMAC(pepper, \"keyward/mac/cursor\"), data)")
		}
		if bytes.Equal(a, sum(pepper, []byte("data"))) {
			t.Fatal("MAC is keyed directly by the pepper")
		}
	})
	t.Run("EmptyPurposeIsRefused", func(t *testing.T) {
		if _, err := h.MAC(ctx, "", []byte("data")); err == nil {
			t.Fatal("MAC with an empty purpose succeeded")
		}
	})
}

func TestStoredRecordHoldsOnlyCiphertext(t *testing.T) {
	l := mustLocalKMS(t)
	ctx := context.Background()
	store := newMemStore()
	k := l.client()
	created := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	h := kmspepper.New(k, store, keyAlias, kmspepper.WithClock(func() time.Time { return created }))
	secret := []byte("secret")
	if _, err := h.EnsureCurrent(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := h.Hash(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	recs := store.records()
	if len(recs) != 1 || len(k.plaintexts) != 1 {
		t.Fatalf("records = %d, generated keys = %d; want 1 and 1", len(recs), len(k.plaintexts))
	}
	rec, pepper := recs[0], k.plaintexts[0]
	sdk := k.KMS

	t.Run("CiphertextIsNotThePlaintext", func(t *testing.T) {
		if bytes.Equal(rec.Ciphertext, pepper) || bytes.Contains(rec.Ciphertext, pepper) {
			t.Fatal("the stored record holds the plaintext pepper")
		}
	})
	t.Run("RecordNamesTheKeyARNAndTime", func(t *testing.T) {
		if rec.Version != 1 || rec.KMSKeyID != l.arn || !rec.CreatedAt.Equal(created) {
			t.Fatalf("record = v%d %q %v; want v1 %q %v", rec.Version, rec.KMSKeyID, rec.CreatedAt, l.arn, created)
		}
	})
	t.Run("HashIsHMACOfThePepper", func(t *testing.T) {
		if !bytes.Equal(got.Sum, sum(pepper, secret)) {
			t.Fatal("Hash.Sum != HMAC-SHA256(pepper, secret)")
		}
	})
	t.Run("CiphertextDecryptsOnlyWithThePurposeContext", func(t *testing.T) {
		dec, err := sdk.Decrypt(ctx, &kmsclient.DecryptInput{CiphertextBlob: rec.Ciphertext, EncryptionContext: kmspepper.EncryptionContext()})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dec.Plaintext, pepper) {
			t.Fatal("the ciphertext does not decrypt to the pepper")
		}
		_, err = sdk.Decrypt(ctx, &kmsclient.DecryptInput{CiphertextBlob: rec.Ciphertext})
		if !isInvalidCiphertext(err) {
			t.Fatalf("Decrypt without context: err = %v, want InvalidCiphertextException", err)
		}
	})
}

func TestFailuresAreErrorsAndNotCached(t *testing.T) {
	ctx := context.Background()
	secret := []byte("secret")

	t.Run("KMSDownWhenEnsuringAnEmptyStore", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		h := kmspepper.New(l.client(), store, keyAlias)
		l.down()
		_, err := h.EnsureCurrent(ctx)
		if err == nil || !strings.Contains(err.Error(), "generate pepper v1") {
			t.Fatalf("EnsureCurrent with KMS down: err = %v, want a generate pepper error", err)
		}
		if n := len(store.records()); n != 0 {
			t.Fatalf("stored versions after failure = %d, want 0", n)
		}
		if _, err := h.Hash(ctx, secret); !errors.Is(err, kmspepper.ErrNoPepper) {
			t.Fatalf("Hash after the failed EnsureCurrent: err = %v, want ErrNoPepper", err)
		}
		l.start()
		if v, err := h.EnsureCurrent(ctx); err != nil || v != 1 {
			t.Fatalf("EnsureCurrent after recovery = %d, %v; want 1", v, err)
		}
		got, err := h.Hash(ctx, secret)
		if err != nil {
			t.Fatalf("Hash after recovery: %v", err)
		}
		if got.Version != 1 {
			t.Fatalf("version = %d, want 1", got.Version)
		}
		if n := len(store.records()); n != 1 {
			t.Fatalf("stored versions = %d, want 1", n)
		}
	})

	t.Run("KMSDownWhenDecryptingStoredPepper", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		boot := kmspepper.New(l.client(), store, keyAlias)
		if _, err := boot.EnsureCurrent(ctx); err != nil {
			t.Fatal(err)
		}
		want, err := boot.Hash(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		loaded := kmspepper.New(l.client(), store, keyAlias)
		if _, err := loaded.EnsureCurrent(ctx); err != nil {
			t.Fatal(err)
		}
		k := l.client()
		h := kmspepper.New(k, store, keyAlias)
		l.down()

		if _, err := h.Hash(ctx, secret); err == nil || !strings.Contains(err.Error(), "decrypt pepper v1") {
			t.Fatalf("Hash: err = %v, want a decrypt pepper error", err)
		}
		if _, err := h.Verify(ctx, secret, want); err == nil {
			t.Fatal("Verify with KMS down succeeded")
		}
		if _, err := h.MAC(ctx, "cursor", nil); err == nil {
			t.Fatal("MAC with KMS down succeeded")
		}
		if _, err := h.EnsureCurrent(ctx); err == nil || !strings.Contains(err.Error(), "decrypt pepper v1") || errors.Is(err, kmspepper.ErrNoPepper) {
			t.Fatalf("EnsureCurrent: err = %v, want a decrypt pepper error", err)
		}
		if g := k.generates.Load(); g != 0 {
			t.Fatalf("GenerateDataKey calls = %d, want 0 (a stored pepper that fails to decrypt is not replaced)", g)
		}
		if ok, err := loaded.Verify(ctx, secret, want); err != nil || !ok {
			t.Fatalf("an already loaded process: Verify = %v, %v; want true without KMS", ok, err)
		}

		l.start()
		got, err := h.Hash(ctx, secret)
		if err != nil {
			t.Fatalf("Hash after recovery: %v", err)
		}
		if !bytes.Equal(got.Sum, want.Sum) {
			t.Fatal("hash after recovery differs")
		}
		if n := len(store.records()); n != 1 {
			t.Fatalf("stored versions = %d, want 1", n)
		}
	})

	t.Run("StoreDown", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		bootstrap(t, l, store)
		k := l.client()
		h := kmspepper.New(k, store, keyAlias)
		boom := errors.New("dynamodb unavailable")
		store.set(func(s *memStore) { s.listErr = boom })
		if _, err := h.Hash(ctx, secret); !errors.Is(err, boom) || errors.Is(err, kmspepper.ErrNoPepper) {
			t.Fatalf("Hash: err = %v, want the store's error", err)
		}
		if _, err := h.EnsureCurrent(ctx); !errors.Is(err, boom) {
			t.Fatalf("EnsureCurrent: err = %v, want the store's error", err)
		}
		store.set(func(s *memStore) { s.listErr = nil })
		if got, err := h.Hash(ctx, secret); err != nil || got.Version != 1 {
			t.Fatalf("Hash after recovery = v%d, %v; want v1", got.Version, err)
		}
		if g := k.generates.Load(); g != 0 {
			t.Fatalf("GenerateDataKey calls = %d, want 0", g)
		}
	})

	t.Run("StoreDownWhenEnsuringAnEmptyStore", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		k := l.client()
		h := kmspepper.New(k, store, keyAlias)
		boom := errors.New("dynamodb unavailable")
		store.set(func(s *memStore) { s.listErr = boom })
		if _, err := h.EnsureCurrent(ctx); !errors.Is(err, boom) || errors.Is(err, kmspepper.ErrNoPepper) {
			t.Fatalf("EnsureCurrent: err = %v, want the store's error", err)
		}
		if g := k.generates.Load(); g != 0 {
			t.Fatalf("GenerateDataKey calls = %d, want 0 (an unreadable store is not an empty one)", g)
		}
		store.set(func(s *memStore) { s.listErr = nil })
		if v, err := h.EnsureCurrent(ctx); err != nil || v != 1 {
			t.Fatalf("EnsureCurrent after recovery = %d, %v; want 1", v, err)
		}
	})

	t.Run("TamperedStoredCiphertext", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		bootstrap(t, l, store)
		store.set(func(s *memStore) {
			r := s.recs[1]
			r.Ciphertext[len(r.Ciphertext)-1] ^= 1
		})
		_, err := kmspepper.New(l.client(), store, keyAlias).Hash(ctx, secret)
		if !isInvalidCiphertext(err) || !strings.Contains(err.Error(), "decrypt pepper v1") {
			t.Fatalf("err = %v, want a wrapped InvalidCiphertextException", err)
		}
		k := l.client()
		_, err = kmspepper.New(k, store, keyAlias).EnsureCurrent(ctx)
		if !isInvalidCiphertext(err) {
			t.Fatalf("EnsureCurrent: err = %v, want a wrapped InvalidCiphertextException", err)
		}
		if g := k.generates.Load(); g != 0 {
			t.Fatalf("EnsureCurrent GenerateDataKey calls = %d, want 0", g)
		}
	})

	t.Run("NoKeyIDConfigured", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		h := kmspepper.New(l.client(), store, "")
		if _, err := h.EnsureCurrent(ctx); err == nil || errors.Is(err, kmspepper.ErrNoPepper) {
			t.Fatalf("EnsureCurrent without a KMS key ID: err = %v, want a configuration error", err)
		}
		if n := len(store.records()); n != 0 {
			t.Fatalf("stored versions = %d, want 0", n)
		}
		if _, err := h.Hash(ctx, secret); !errors.Is(err, kmspepper.ErrNoPepper) {
			t.Fatalf("Hash without a KMS key ID: err = %v, want ErrNoPepper", err)
		}
	})
}

// TestCanceledLeaderDoesNotFailWaiters: a caller whose context is canceled
// while it loads or creates the pepper fails alone; callers waiting on its
// result go on.
func TestCanceledLeaderDoesNotFailWaiters(t *testing.T) {
	// In a synctest bubble the leader is parked in its KMS call and the
	// waiter on the leader's flight before the cancel, with no sleep to hope so.
	t.Run("Load", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		bootstrap(t, l, store)
		synctest.Test(t, func(t *testing.T) {
			k := l.bubbleClient()
			k.decryptDelay = 200 * time.Millisecond
			h := kmspepper.New(k, store, keyAlias)
			leaderCtx, cancel := context.WithCancel(context.Background())
			leaderErr, waiterErr := make(chan error, 1), make(chan error, 1)
			go func() {
				_, err := h.Hash(leaderCtx, []byte("x"))
				leaderErr <- err
			}()
			synctest.Wait() // the leader is inside Decrypt
			go func() {
				_, err := h.Hash(context.Background(), []byte("x"))
				waiterErr <- err
			}()
			synctest.Wait() // the waiter waits on the leader's load
			cancel()
			if err := <-leaderErr; !errors.Is(err, context.Canceled) {
				t.Fatalf("leader err = %v, want context.Canceled", err)
			}
			if err := <-waiterErr; err != nil {
				t.Fatalf("waiter err = %v, want success", err)
			}
		})
	})

	// EnsureCurrent's waiter queues on a mutex, which a synctest bubble does
	// not count as waiting, so this one gives the callers time instead.
	t.Run("EnsureCurrent", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		k := l.client()
		k.delay = 200 * time.Millisecond
		h := kmspepper.New(k, store, keyAlias)

		leaderCtx, cancel := context.WithCancel(context.Background())
		leaderErr := make(chan error, 1)
		go func() {
			_, err := h.EnsureCurrent(leaderCtx)
			leaderErr <- err
		}()
		time.Sleep(20 * time.Millisecond) // the leader is inside GenerateDataKey
		waiterErr := make(chan error, 1)
		go func() {
			_, err := h.EnsureCurrent(context.Background())
			waiterErr <- err
		}()
		time.Sleep(20 * time.Millisecond)
		cancel()

		if err := <-leaderErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("leader err = %v, want context.Canceled", err)
		}
		if err := <-waiterErr; err != nil {
			t.Fatalf("waiter err = %v, want success", err)
		}
		if n := len(store.records()); n != 1 {
			t.Fatalf("stored versions = %d, want 1", n)
		}
	})
}
