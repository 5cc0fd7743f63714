package dynamostore_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/ddblocal"
	"github.com/keyward/keyward/pkg/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/localkms"
)

// logs captures everything the code under test logs, so tests can check that
// no secret ever reaches a log line.
var logs = &syncBuffer{}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	os.Exit(ddblocaltest.Run(m))
}

// clock is an injectable clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// stack is the lifecycle wired to real DynamoDB Local and a local KMS
// endpoint through the real SDK clients.
type stack struct {
	svc    *apikey.Service
	store  *dynamostore.Store
	db     *dynamodb.Client
	kms    *kms.Client
	table  string
	clock  *clock
	hasher *kmspepper.Hasher
}

func newStack(t *testing.T, cfg apikey.Config) *stack {
	t.Helper()
	tables := ddblocaltest.Tables(t)
	db := ddblocal.Client(ddblocaltest.Shared(t).Endpoint)
	srv, err := localkms.New()
	if err != nil {
		t.Fatal(err)
	}
	keyARN, err := srv.CreateKey("keyward")
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	kc := kms.New(kms.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	store := dynamostore.New(db, tables["KeysTable"])
	hasher := kmspepper.New(kc, store, keyARN)
	if _, err := hasher.EnsureCurrent(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	svc := apikey.NewService(store, hasher, cfg, apikey.WithClock(clk.Now))
	return &stack{svc: svc, store: store, db: db, kms: kc, table: tables["KeysTable"], clock: clk, hasher: hasher}
}

// bootstrap creates a tenant's default admin key and returns a caller for it.
func (s *stack) bootstrap(t *testing.T, tenant string) (apikey.Caller, *apikey.Issued) {
	t.Helper()
	iss, err := s.svc.Bootstrap(context.Background(), tenant, "system:test")
	if err != nil {
		t.Fatalf("bootstrap %s: %v", tenant, err)
	}
	return apikey.Caller{TenantID: tenant, KeyID: iss.ID, Scopes: iss.Scopes, RequestID: "req-" + tenant, SourceIP: "198.51.100.7"}, iss
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return apikey.ErrorCode(err)
}
