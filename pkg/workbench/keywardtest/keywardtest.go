// Package keywardtest gives keyward's tests real local dependencies:
// DynamoDB Local tables from template.yaml, the local KMS endpoint, the
// pepper, the service; never a fake of DynamoDB.
//
// It builds on ddblocaltest, so a package using it stops the shared DynamoDB
// Local in its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		clk := keywardtest.NewClock(t0)
//		s := keywardtest.Keys(t, keywardtest.WithClock(clk))
//		admin, _ := s.Bootstrap(t, "acme", "system:test")
//		...
//	}
//
// Every helper fails the test when a dependency cannot be had, and undoes
// what it set up when the test finishes.
package keywardtest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/unicoderules"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
)

// Stack is the key service as the functions wire it: the store over a fresh
// keys table, the pepper under a local KMS key, reached through the real SDK
// clients.
type Stack struct {
	Tables   map[string]string // every table of template.yaml: logical ID → name
	Endpoint string            // DynamoDB Local's endpoint
	DB       *dynamodb.Client
	KMS      *LocalKMS
	Store    *dynamostore.Store // over Tables["KeysTable"]
	Hasher   *kmspepper.Hasher  // with its current pepper version created
	Service  *apikey.Service
	Clock    *Clock // the service's clock, as given to WithClock; nil for real time
}

// Option changes what Keys builds.
type Option func(*options)

type options struct {
	cfg   apikey.Config
	clock *Clock
}

// WithConfig gives the service cfg instead of the zero Config.
func WithConfig(cfg apikey.Config) Option { return func(o *options) { o.cfg = cfg } }

// WithClock runs the service on c instead of real time.
func WithClock(c *Clock) Option { return func(o *options) { o.clock = c } }

// Keys builds a Stack over tables of its own and a local KMS of its own, and
// fails tb if it cannot. Both go away when tb finishes.
func Keys(tb testing.TB, opts ...Option) *Stack {
	tb.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	tables := ddblocaltest.Tables(tb)
	endpoint := ddblocaltest.Shared(tb).Endpoint
	db := ddblocal.Client(endpoint)
	k := StartKMS(tb)
	store := dynamostore.New(db, tables["KeysTable"])
	hasher := kmspepper.New(k.Client, store, k.KeyARN)
	if _, err := hasher.EnsureCurrent(context.Background()); err != nil {
		tb.Fatalf("keywardtest: create the pepper: %v", err)
	}
	svcOpts := []apikey.Option{apikey.WithPolicies(store)}
	if o.clock != nil {
		svcOpts = append(svcOpts, apikey.WithClock(o.clock.Now))
	}
	return &Stack{
		Tables: tables, Endpoint: endpoint, DB: db, KMS: k, Store: store, Hasher: hasher,
		Service: apikey.NewService(store, hasher, unicoderules.Rules{}, o.cfg, svcOpts...),
		Clock:   o.clock,
	}
}

// Bootstrap creates tenant's default admin key as actor and returns it with
// a caller holding it, as a request from 198.51.100.7 with request ID
// "req-<tenant>" would carry it.
func (s *Stack) Bootstrap(tb testing.TB, tenant, actor string) (apikey.Caller, *apikey.Issued) {
	tb.Helper()
	iss, err := s.Service.Bootstrap(context.Background(), tenant, actor)
	if err != nil {
		tb.Fatalf("bootstrap %s: %v", tenant, err)
	}
	return apikey.Caller{TenantID: tenant, KeyID: iss.ID, Scopes: iss.Scopes, RequestID: "req-" + tenant, SourceIP: "198.51.100.7"}, iss
}

// CallerKey stores a key of tenant under the fixed ID keyID holding scopes,
// and returns a caller for it. Tests whose requests name a fixed calling key
// (the events/ fixtures) use it: the service checks the calling key as
// stored (its expiry and allow-list) when it creates or rotates a key, so
// the caller must exist. Its secret is never known: the key cannot be presented.
func (s *Stack) CallerKey(tb testing.TB, tenant, keyID string, scopes ...string) apikey.Caller {
	tb.Helper()
	ctx := context.Background()
	h, err := s.Hasher.Hash(ctx, []byte(keyID+"-unknown-secret"))
	if err != nil {
		tb.Fatalf("keywardtest: hash: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	if s.Clock != nil {
		now = s.Clock.Now()
	}
	k := &apikey.StoredKey{Key: apikey.Key{
		ID: keyID, TenantID: tenant, Name: "caller " + keyID, Type: "admin", Scopes: scopes,
		AllowList: apikey.AllowList{IPs: []string{}, Origins: []string{}}, Metadata: map[string]string{},
		Status: apikey.StatusActive, Hint: "kw_" + keyID[4:10] + "…", CreatedAt: now, UpdatedAt: now,
		CreatedBy: "system:test", UpdatedBy: "system:test", Version: 1,
	}, SecretHash: h, Change: apikey.Change{Actor: "system:test"}}
	k.NameKey = unicoderules.NameKey(k.Name)
	if err := s.Store.CreateKey(ctx, k); err != nil {
		tb.Fatalf("keywardtest: store caller key %s: %v", keyID, err)
	}
	return apikey.Caller{TenantID: tenant, KeyID: keyID, Scopes: scopes, RequestID: "seed", SourceIP: "198.51.100.7"}
}

// adminIDs are the fixed calling keys of Admin, one per tenant; acme's is the
// one the events/ fixtures name.
var adminIDs = map[string]string{"acme": "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z", "globex": "key_01JD5Z8K3N4Q7R2T6V9W0X1Y3Z"}

// Admin is a caller of tenant ("acme" or "globex") holding keys:admin, under
// a fixed key ID that StoreAdmins stores.
func Admin(tenant string) apikey.Caller {
	return apikey.Caller{TenantID: tenant, KeyID: adminIDs[tenant], Scopes: []string{apikey.ScopeAdmin}, RequestID: "seed", SourceIP: "198.51.100.7"}
}

// PlatformKeyID is the calling key of Platform, the one the events/
// fixtures of platform calls name.
const PlatformKeyID = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y4Z"

// StorePlatform stores the operator tenant's platform key under
// PlatformKeyID (keys:admin and the platform scopes) and returns a caller
// for it.
func (s *Stack) StorePlatform(tb testing.TB) apikey.Caller {
	tb.Helper()
	scopes := append([]string{apikey.ScopeAdmin}, apikey.PlatformScopes...)
	c := s.CallerKey(tb, s.Service.OperatorTenant(), PlatformKeyID, scopes...)
	c.KeyName, c.KeyTenantID = "default", c.TenantID
	return c
}

// StoreAdmins stores the calling keys of Admin("acme") and Admin("globex").
func (s *Stack) StoreAdmins(tb testing.TB) {
	tb.Helper()
	for _, tenant := range []string{"acme", "globex"} {
		c := Admin(tenant)
		s.CallerKey(tb, tenant, c.KeyID, c.Scopes...)
	}
}

// DeadEndpoint returns a loopback URL nothing listens on, for tests of a
// dependency that does not answer.
func DeadEndpoint(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}
