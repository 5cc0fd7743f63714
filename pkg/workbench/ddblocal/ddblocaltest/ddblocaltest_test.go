package ddblocaltest_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/listencheck"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

func listTables(t *testing.T, client *dynamodb.Client) []string {
	t.Helper()
	out, err := client.ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	return out.TableNames
}

func TestSharedIsOneInstance(t *testing.T) {
	a, b := ddblocaltest.Shared(t), ddblocaltest.Shared(t)
	if a != b {
		t.Fatalf("Shared returned %p then %p, want one instance per test binary", a, b)
	}
	if !strings.HasPrefix(a.Endpoint, "http://127.0.0.1:") {
		t.Errorf("Endpoint = %s, want a 127.0.0.1 address", a.Endpoint)
	}
}

// The harness's DynamoDB Local is reachable from this machine's loopback
// only, not from its other addresses.
func TestSharedListensOnLoopbackOnly(t *testing.T) {
	inst := ddblocaltest.Shared(t)
	listencheck.LoopbackOnly(t, []int{inst.PID()}, inst.Port)
}

func TestTablesAreIsolatedAndDeleted(t *testing.T) {
	client := ddblocal.Client(ddblocaltest.Shared(t).Endpoint)
	ctx := context.Background()
	key := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "KEY#1"},
		"sk": &types.AttributeValueMemberS{Value: "KEY"},
	}
	var first, second string
	t.Run("First", func(t *testing.T) {
		first = ddblocaltest.Tables(t)["KeysTable"]
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(first), Item: key}); err != nil {
			t.Fatal(err)
		}
		t.Run("Second", func(t *testing.T) {
			second = ddblocaltest.Tables(t)["KeysTable"]
			if second == first {
				t.Fatalf("two calls both got table %s", first)
			}
			out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(second), Key: key})
			if err != nil {
				t.Fatal(err)
			}
			if out.Item != nil {
				t.Errorf("item written to %s is visible in %s", first, second)
			}
		})
		if names := listTables(t, client); slices.Contains(names, second) || !slices.Contains(names, first) {
			t.Errorf("tables after the inner test = %v, want %s deleted and %s kept", names, second, first)
		}
	})
	if names := listTables(t, client); slices.Contains(names, first) {
		t.Errorf("tables after the outer test = %v, want %s deleted", names, first)
	}
	for _, name := range []string{first, second} {
		if !strings.HasPrefix(name, "KeysTable-TestTablesAreIsolatedAndDeleted_First") {
			t.Errorf("table name %q does not say which test made it", name)
		}
	}
}

func TestTablesFromParallelTests(t *testing.T) {
	for _, name := range []string{"A", "B", "C"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			table := ddblocaltest.Tables(t)["KeysTable"]
			out, err := ddblocal.Client(ddblocaltest.Shared(t).Endpoint).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
			if err != nil {
				t.Fatal(err)
			}
			if out.Table.TableStatus != types.TableStatusActive {
				t.Errorf("%s is %s, want ACTIVE", table, out.Table.TableStatus)
			}
		})
	}
}
