package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/auditstore"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/unicoderules"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// ScaleEnv returns e over tables of its own (the template's keys and audit
// tables, named Bench…, without a stream), for the admin paths at scale:
// the 100,000 keys seeded there would otherwise each run the stack's stream
// poller and audit function, which these figures do not measure and which
// would double the seeding's work. Everything else (DynamoDB Local, the
// local KMS) is the stack's.
func (e *Env) ScaleEnv(ctx context.Context, root string) (*Env, error) {
	tmpl, err := samtemplate.Load(filepath.Join(root, samtemplate.FileName))
	if err != nil {
		return nil, err
	}
	inputs, err := tmpl.DynamoDBTables(nil, samtemplate.WithTableNames(func(id string) string { return "Bench" + id }))
	if err != nil {
		return nil, err
	}
	for _, id := range []string{"KeysTable", "AuditTable"} {
		in, ok := inputs[id]
		if !ok {
			return nil, fmt.Errorf("bench: template has no %s", id)
		}
		in.StreamSpecification = nil
		if _, err := e.DB.CreateTable(ctx, in); err != nil {
			return nil, fmt.Errorf("bench: create %s: %w", *in.TableName, err)
		}
		w := dynamodb.NewTableExistsWaiter(e.DB)
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, time.Minute); err != nil {
			return nil, err
		}
	}
	s := *e
	s.Settings.Table = "BenchKeysTable"
	s.Store = dynamostore.New(e.DB, s.Settings.Table)
	s.Hasher = kmspepper.New(keywardtest.KMSClient(e.Stack.KMSURL), s.Store, s.Settings.KMSKeyID)
	if _, err := s.Hasher.EnsureCurrent(ctx); err != nil {
		return nil, err
	}
	s.Service = apikey.NewService(s.Store, s.Hasher, unicoderules.Rules{}, s.Settings.Service)
	s.Audit = auditstore.New(e.DB, "BenchAuditTable", 0)
	if s.Admin, err = s.Tenant(ctx, "bench-admin"); err != nil {
		return nil, err
	}
	return &s, nil
}
