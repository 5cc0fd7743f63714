package auditstream_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditstore"
	"github.com/keyward/keyward/pkg/auditstream"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/ddbstream"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

// stack is the key lifecycle over real DynamoDB Local tables built from
// template.yaml and a local KMS endpoint, the keys table's real stream read
// through the DynamoDB Streams API, and the stream handler writing to the
// real audit table.
type stack struct {
	local   *keywardtest.Stack
	svc     *apikey.Service
	keys    *dynamostore.Store
	audit   *auditstore.Store
	db      *dynamodb.Client
	table   string // keys table
	stream  *ddbstream.Reader
	handler *auditstream.Handler
	logs    *keywardtest.LogBuffer
	clock   *keywardtest.Clock
	secrets []string // every secret and token issued, to check none leaks
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	clk := keywardtest.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	keys := keywardtest.Keys(t, keywardtest.WithClock(clk))
	db, table := keys.DB, keys.Tables["KeysTable"]

	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	streamARN := aws.ToString(desc.Table.LatestStreamArn)
	if streamARN == "" {
		t.Fatal("the keys table has no stream")
	}
	logs := &keywardtest.LogBuffer{}
	store := auditstore.New(db, keys.Tables["AuditTable"], 0)
	s := &stack{
		local: keys, svc: keys.Service, keys: keys.Store, audit: store, db: db, table: table,
		stream:  ddbstream.NewReader(ddblocal.StreamsClient(keys.Endpoint), streamARN),
		handler: auditstream.New(store, logs.Logger()),
		logs:    logs, clock: clk,
	}
	logs.CheckNoSecrets(t, &s.secrets)
	return s
}

// caller is a request of tenant by key id, with a request ID and source IP.
func caller(tenant, keyID, requestID string) apikey.Caller {
	return apikey.Caller{TenantID: tenant, KeyID: keyID, Scopes: []string{apikey.ScopeAdmin}, RequestID: requestID, SourceIP: "198.51.100.7"}
}

// bootstrap creates a tenant's default key and returns it.
func (s *stack) bootstrap(t *testing.T, tenant string) *apikey.Issued {
	t.Helper()
	_, iss := s.local.Bootstrap(t, tenant, "bootstrap")
	s.remember(iss)
	return iss
}

// remember keeps an issued secret and token, to check none leaks.
func (s *stack) remember(iss *apikey.Issued) {
	s.secrets = append(s.secrets, iss.Secret, iss.Token)
}

// next reads the stream records written since the last call.
func (s *stack) next(t *testing.T) []events.DynamoDBEventRecord {
	t.Helper()
	recs, err := s.stream.Next(context.Background())
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	return recs
}

// handle feeds records to the handler as one batch, through JSON as Lambda
// delivers them, and returns the sequence numbers it reported.
func (s *stack) handle(t *testing.T, recs []events.DynamoDBEventRecord) []string {
	t.Helper()
	raw, err := json.Marshal(ddbstream.Event(recs))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	resp, err := s.handler.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if resp.BatchItemFailures == nil {
		t.Error("BatchItemFailures is nil; Lambda expects a list")
	}
	var seqs []string
	for _, f := range resp.BatchItemFailures {
		seqs = append(seqs, f.ItemIdentifier)
	}
	return seqs
}

// records returns every audit record of tenant, newest first.
func (s *stack) records(t *testing.T, tenant string) []audit.Record {
	t.Helper()
	var out []audit.Record
	q := audit.Query{TenantID: tenant, Limit: audit.MaxLimit}
	for {
		page, next, err := s.audit.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		q.After = next
	}
}

// secretHashes returns the base64 of every secret hash stored on key id, as
// they would appear if copied into a record.
func (s *stack) secretHashes(t *testing.T, id string) []string {
	t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "KEY#" + id}, "sk": &types.AttributeValueMemberS{Value: "KEY"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for _, a := range []string{"secretHash", "prevSecretHash"} {
		if b, ok := out.Item[a].(*types.AttributeValueMemberB); ok {
			hashes = append(hashes, base64.StdEncoding.EncodeToString(b.Value))
		}
	}
	return hashes
}
