package dynamostore_test

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// logs captures everything the code under test logs, so tests can check that
// no secret ever reaches a log line.
var logs = &keywardtest.LogBuffer{}

func TestMain(m *testing.M) {
	slog.SetDefault(logs.Logger())
	os.Exit(ddblocaltest.Run(m))
}

// stack is the lifecycle wired to real DynamoDB Local and a local KMS
// endpoint through the real SDK clients.
type stack struct {
	keys   *keywardtest.Stack
	svc    *apikey.Service
	store  *dynamostore.Store
	db     *dynamodb.Client
	kms    *kms.Client
	table  string
	clock  *keywardtest.Clock
	hasher *kmspepper.Hasher
}

func newStack(t *testing.T, cfg apikey.Config) *stack {
	t.Helper()
	clk := keywardtest.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	keys := keywardtest.Keys(t, keywardtest.WithConfig(cfg), keywardtest.WithClock(clk))
	return &stack{keys: keys, svc: keys.Service, store: keys.Store, db: keys.DB, kms: keys.KMS.Client, table: keys.Tables["KeysTable"], clock: clk, hasher: keys.Hasher}
}

// bootstrap creates a tenant's default admin key and returns a caller for it.
func (s *stack) bootstrap(t *testing.T, tenant string) (apikey.Caller, *apikey.Issued) {
	t.Helper()
	return s.keys.Bootstrap(t, tenant, "system:test")
}

func code(err error) apikey.Code {
	if err == nil {
		return ""
	}
	return apikey.ErrorCode(err)
}
