package kmspepper_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/localkms"
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
	delay      time.Duration
	generates  atomic.Int32
	decrypts   atomic.Int32
	mu         sync.Mutex
	plaintexts [][]byte
}

func (c *countingKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	c.generates.Add(1)
	if c.delay > 0 {
		select {
		case <-time.After(c.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out, err := c.KMS.GenerateDataKey(ctx, in, optFns...)
	if err == nil {
		c.mu.Lock()
		c.plaintexts = append(c.plaintexts, bytes.Clone(out.Plaintext))
		c.mu.Unlock()
	}
	return out, err
}

func (c *countingKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.decrypts.Add(1)
	return c.KMS.Decrypt(ctx, in, optFns...)
}

// localKMS is a localkms server with the pepper key, persisted to a file so
// it can be stopped and started again on the same address.
type localKMS struct {
	tb   testing.TB
	path string
	addr string
	arn  string
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
	l.addr, l.stop = strings.TrimPrefix(url, "http://"), stop
}

func (l *localKMS) down() {
	l.tb.Helper()
	if err := l.stop(); err != nil {
		l.tb.Fatal(err)
	}
	l.stop = nil
}

// client returns a real SDK client for the server; it does not retry, so a
// down server fails fast.
func (l *localKMS) client() *countingKMS {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", "")}
	c := kms.NewFromConfig(cfg, func(o *kms.Options) {
		o.BaseEndpoint = aws.String("http://" + l.addr)
		o.RetryMaxAttempts = 1
	})
	return &countingKMS{KMS: c}
}

func sum(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func TestFirstUseCreatesVersionOneOnce(t *testing.T) {
	l := mustLocalKMS(t)
	store := newMemStore()
	k := l.client()
	k.delay = 50 * time.Millisecond // let the callers pile up on the first load
	h := kmspepper.New(k, store, keyAlias)

	const callers = 20
	ctx := context.Background()
	hashes := make([]apikey.Hash, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			hashes[i], errs[i] = h.Hash(ctx, []byte("secret"))
		})
	}
	close(start)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if got, want := hashes[i].Version, 1; got != want {
			t.Fatalf("caller %d: version = %d, want %d", i, got, want)
		}
		if !bytes.Equal(hashes[i].Sum, hashes[0].Sum) {
			t.Fatalf("caller %d got a different sum", i)
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
	if got, want := store.puts, 1; got != want {
		t.Errorf("PutPepper calls = %d, want %d", got, want)
	}

	t.Run("AnotherProcessDecryptsTheStoredVersionOnce", func(t *testing.T) {
		k2 := l.client()
		h2 := kmspepper.New(k2, store, keyAlias)
		for range 5 {
			got, err := h2.Hash(ctx, []byte("secret"))
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != 1 || !bytes.Equal(got.Sum, hashes[0].Sum) {
				t.Fatalf("Hash = v%d, want v1 with the first process's sum", got.Version)
			}
		}
		if got, want := k2.generates.Load(), int32(0); got != want {
			t.Errorf("GenerateDataKey calls = %d, want %d", got, want)
		}
		if got, want := k2.decrypts.Load(), int32(1); got != want {
			t.Errorf("Decrypt calls = %d, want %d", got, want)
		}
	})
}

func TestLosingTheRaceForVersionOneUsesTheWinnersPepper(t *testing.T) {
	l := mustLocalKMS(t)
	store := newMemStore()
	ctx := context.Background()
	winner := kmspepper.New(l.client(), store, keyAlias)
	want, err := winner.Hash(ctx, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}

	// The loser's first list misses the winner's record, so it generates a
	// key of its own, and PutPepper answers conflict.
	loserKMS := l.client()
	loser := kmspepper.New(loserKMS, &hideFirstList{memStore: store}, keyAlias)
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
		dec, err := sdk.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: rec.Ciphertext, EncryptionContext: kmspepper.EncryptionContext()})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dec.Plaintext, pepper) {
			t.Fatal("the ciphertext does not decrypt to the pepper")
		}
		_, err = sdk.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: rec.Ciphertext})
		var invalid *types.InvalidCiphertextException
		if !errors.As(err, &invalid) {
			t.Fatalf("Decrypt without context: err = %v, want InvalidCiphertextException", err)
		}
	})
}

func TestFailuresAreErrorsAndNotCached(t *testing.T) {
	ctx := context.Background()
	secret := []byte("secret")

	t.Run("KMSDownOnFirstUseOfEmptyStore", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		h := kmspepper.New(l.client(), store, keyAlias)
		l.down()
		_, err := h.Hash(ctx, secret)
		if err == nil || !strings.Contains(err.Error(), "generate pepper v1") {
			t.Fatalf("Hash with KMS down: err = %v, want a generate pepper error", err)
		}
		if n := len(store.records()); n != 0 {
			t.Fatalf("stored versions after failure = %d, want 0", n)
		}
		l.start()
		got, err := h.Hash(ctx, secret)
		if err != nil {
			t.Fatalf("Hash after recovery: %v", err)
		}
		if got.Version != 1 {
			t.Fatalf("version = %d, want 1", got.Version)
		}
	})

	t.Run("KMSDownWhenDecryptingStoredPepper", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		want, err := kmspepper.New(l.client(), store, keyAlias).Hash(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		loaded := kmspepper.New(l.client(), store, keyAlias)
		if _, err := loaded.EnsureCurrent(ctx); err != nil {
			t.Fatal(err)
		}
		h := kmspepper.New(l.client(), store, keyAlias)
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
		if _, err := h.EnsureCurrent(ctx); err == nil {
			t.Fatal("EnsureCurrent with KMS down succeeded")
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
	})

	t.Run("StoreDown", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		h := kmspepper.New(l.client(), store, keyAlias)
		boom := errors.New("dynamodb unavailable")
		store.set(func(s *memStore) { s.listErr = boom })
		if _, err := h.Hash(ctx, secret); !errors.Is(err, boom) {
			t.Fatalf("Hash: err = %v, want the store's error", err)
		}
		store.set(func(s *memStore) { s.listErr = nil })
		if _, err := h.Hash(ctx, secret); err != nil {
			t.Fatalf("Hash after recovery: %v", err)
		}
	})

	t.Run("TamperedStoredCiphertext", func(t *testing.T) {
		l := mustLocalKMS(t)
		store := newMemStore()
		if _, err := kmspepper.New(l.client(), store, keyAlias).EnsureCurrent(ctx); err != nil {
			t.Fatal(err)
		}
		store.set(func(s *memStore) {
			r := s.recs[1]
			r.Ciphertext[len(r.Ciphertext)-1] ^= 1
		})
		_, err := kmspepper.New(l.client(), store, keyAlias).Hash(ctx, secret)
		var invalid *types.InvalidCiphertextException
		if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "decrypt pepper v1") {
			t.Fatalf("err = %v, want a wrapped InvalidCiphertextException", err)
		}
	})

	t.Run("NoKeyIDConfigured", func(t *testing.T) {
		l := mustLocalKMS(t)
		if _, err := kmspepper.New(l.client(), newMemStore(), "").Hash(ctx, secret); err == nil {
			t.Fatal("Hash without a KMS key ID succeeded")
		}
	})
}

func TestCanceledLeaderDoesNotFailWaiters(t *testing.T) {
	l := mustLocalKMS(t)
	k := l.client()
	k.delay = 200 * time.Millisecond
	h := kmspepper.New(k, newMemStore(), keyAlias)

	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := h.Hash(leaderCtx, []byte("x"))
		leaderErr <- err
	}()
	time.Sleep(20 * time.Millisecond) // the leader is inside GenerateDataKey
	waiterErr := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), []byte("x"))
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
}
