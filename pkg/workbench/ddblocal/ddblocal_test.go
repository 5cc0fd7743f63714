package ddblocal_test

import (
	"context"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/listencheck"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// jarDir installs (if needed) and returns the pinned DynamoDB Local.
func jarDir(t *testing.T) string {
	t.Helper()
	dir, err := ddblocal.Install(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func repoTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	p, err := samtemplate.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// mustStart starts DynamoDB Local and stops it when t ends.
func mustStart(t *testing.T, opts ddblocal.Options) *ddblocal.Instance {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = jarDir(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inst, err := ddblocal.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inst.Stop() })
	return inst
}

func TestDynamoDBLocal(t *testing.T) {
	inst := mustStart(t, ddblocal.Options{})
	if want := "http://127.0.0.1:" + strconv.Itoa(inst.Port); inst.Endpoint != want {
		t.Fatalf("Endpoint = %s, want %s", inst.Endpoint, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := ddblocal.Client(inst.Endpoint)
	tmpl := repoTemplate(t)
	nameFor := func(id string) string { return id + "-ddblocal" }

	tables, err := ddblocal.CreateTables(ctx, client, tmpl, nameFor)
	if err != nil {
		t.Fatal(err)
	}
	keys := tables["KeysTable"]

	t.Run("CreatesTheTemplateTables", func(t *testing.T) {
		if want := map[string]string{"AuditTable": "AuditTable-ddblocal", "KeysTable": "KeysTable-ddblocal"}; !reflect.DeepEqual(tables, want) {
			t.Fatalf("CreateTables = %v, want %v", tables, want)
		}
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(keys)})
		if err != nil {
			t.Fatal(err)
		}
		d := out.Table
		if d.TableStatus != types.TableStatusActive || len(d.GlobalSecondaryIndexes) != 4 {
			t.Errorf("table status %s with %d GSIs, want ACTIVE with 4 (byTenant, byName, byExpiry, byIdle)", d.TableStatus, len(d.GlobalSecondaryIndexes))
		}
		if s := d.StreamSpecification; s == nil || s.StreamViewType != types.StreamViewTypeNewAndOldImages || d.LatestStreamArn == nil {
			t.Errorf("stream = %+v, arn %v; want NEW_AND_OLD_IMAGES", s, d.LatestStreamArn)
		}
		if bm := d.BillingModeSummary; bm == nil || bm.BillingMode != types.BillingModePayPerRequest {
			t.Errorf("billing mode = %+v, want PAY_PER_REQUEST", bm)
		}
	})
	t.Run("EnablesTTL", func(t *testing.T) {
		out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(keys)})
		if err != nil {
			t.Fatal(err)
		}
		if d := out.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != "ttl" || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
			t.Errorf("TTL = %+v, want ENABLED on ttl", d)
		}
	})
	t.Run("CreateTablesIsIdempotent", func(t *testing.T) {
		again, err := ddblocal.CreateTables(ctx, client, tmpl, nameFor)
		if err != nil || !reflect.DeepEqual(again, tables) {
			t.Fatalf("second CreateTables = %v, %v; want %v", again, err, tables)
		}
	})
	t.Run("IndexesTheTemplateGainedAreAddedToAnOldTable", func(t *testing.T) {
		// A keys table as an older template made it: its first two indexes only.
		inputs, err := tmpl.DynamoDBTables(nil, samtemplate.WithTableNames(func(id string) string { return id + "-old" }))
		if err != nil {
			t.Fatal(err)
		}
		old := inputs["KeysTable"]
		old.GlobalSecondaryIndexes = old.GlobalSecondaryIndexes[:2]
		used := map[string]bool{"pk": true, "sk": true, "gsi1pk": true, "gsi1sk": true, "gsi2pk": true, "gsi2sk": true}
		var defs []types.AttributeDefinition
		for _, a := range old.AttributeDefinitions {
			if used[aws.ToString(a.AttributeName)] {
				defs = append(defs, a)
			}
		}
		old.AttributeDefinitions = defs
		if _, err := client.CreateTable(ctx, old); err != nil {
			t.Fatal(err)
		}
		if _, err := ddblocal.CreateTables(ctx, client, tmpl, func(id string) string { return id + "-old" }); err != nil {
			t.Fatal(err)
		}
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: old.TableName})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(out.Table.GlobalSecondaryIndexes); got != 4 {
			t.Fatalf("%d indexes after CreateTables, want 4", got)
		}
	})
	t.Run("PutThenGet", func(t *testing.T) {
		item := map[string]types.AttributeValue{
			"pk":   &types.AttributeValueMemberS{Value: "KEY#1"},
			"sk":   &types.AttributeValueMemberS{Value: "KEY"},
			"name": &types.AttributeValueMemberS{Value: "ci"},
		}
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(keys), Item: item}); err != nil {
			t.Fatal(err)
		}
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(keys),
			Key:            map[string]types.AttributeValue{"pk": item["pk"], "sk": item["sk"]},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out.Item, item) {
			t.Errorf("GetItem = %#v, want %#v", out.Item, item)
		}
	})
	t.Run("StreamShowsTheInsert", func(t *testing.T) {
		rec := firstStreamRecord(ctx, t, ddblocal.StreamsClient(inst.Endpoint), client, keys)
		if rec.EventName != streamtypes.OperationTypeInsert {
			t.Errorf("EventName = %s, want INSERT", rec.EventName)
		}
		pk, _ := rec.Dynamodb.NewImage["pk"].(*streamtypes.AttributeValueMemberS)
		if pk == nil || pk.Value != "KEY#1" || rec.Dynamodb.OldImage != nil {
			t.Errorf("record images new=%v old=%v, want new pk KEY#1 and no old image", rec.Dynamodb.NewImage, rec.Dynamodb.OldImage)
		}
	})

	// DynamoDB Local's own main listens on every interface; Start's must
	// not: from any other address of the machine the port is closed.
	t.Run("ListensOnLoopbackOnly", func(t *testing.T) {
		listencheck.LoopbackOnly(t, []int{inst.PID()}, inst.Port)
	})
	t.Run("NoWebPageMayReadItsAnswers", func(t *testing.T) {
		for _, method := range []string{"POST", "OPTIONS"} {
			req, err := http.NewRequestWithContext(ctx, method, inst.Endpoint, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", "https://example.com")
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization,x-amz-target")
			req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if v := resp.Header.Values("Access-Control-Allow-Origin"); len(v) > 0 {
				t.Errorf("%s from a web page: Access-Control-Allow-Origin %q, want none", method, v)
			}
		}
	})

	t.Run("StopEndsTheProcess", func(t *testing.T) {
		pid := inst.PID()
		if err := inst.Stop(); err != nil {
			t.Fatal(err)
		}
		if !processGone(pid) {
			t.Errorf("java (pid %d) still runs after Stop", pid)
		}
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(inst.Port), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still accepts connections after Stop", inst.Port)
		}
		if err := inst.Stop(); err != nil {
			t.Errorf("second Stop = %v, want nil", err)
		}
	})
}

// firstStreamRecord reads the table's stream from its start and returns the
// first record.
func firstStreamRecord(ctx context.Context, t *testing.T, streams *dynamodbstreams.Client, client *dynamodb.Client, table string) streamtypes.Record {
	t.Helper()
	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: desc.Table.LatestStreamArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(stream.StreamDescription.Shards) == 0 {
		t.Fatal("stream has no shards")
	}
	it, err := streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
		StreamArn:         desc.Table.LatestStreamArn,
		ShardId:           stream.StreamDescription.Shards[0].ShardId,
		ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatal(err)
	}
	iter := it.ShardIterator
	for deadline := time.Now().Add(10 * time.Second); iter != nil && time.Now().Before(deadline); {
		out, err := streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Records) > 0 {
			return out.Records[0]
		}
		iter = out.NextShardIterator
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no stream record within 10 s")
	return streamtypes.Record{}
}

func TestStartRejects(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name    string
		opts    func(t *testing.T) ddblocal.Options
		wantErr string
	}{
		{"MissingJavaExecutable", func(t *testing.T) ddblocal.Options {
			return ddblocal.Options{Dir: t.TempDir(), Java: "/nonexistent/java"}
		}, "needs a Java 17+ runtime"},
		{"NoJavaInPath", func(t *testing.T) ddblocal.Options {
			t.Setenv("PATH", t.TempDir())
			t.Setenv("JAVA_HOME", "")
			return ddblocal.Options{Dir: t.TempDir()}
		}, "needs a Java 17+ runtime"},
		{"MissingJar", func(t *testing.T) ddblocal.Options {
			return ddblocal.Options{Dir: t.TempDir()}
		}, "exited before serving"},
		{"BusyPortChosenByTheCaller", func(t *testing.T) ddblocal.Options {
			return ddblocal.Options{Dir: jarDir(t), Port: busy.Addr().(*net.TCPAddr).Port}
		}, "port in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, err := ddblocal.Start(context.Background(), tt.opts(t))
			if err == nil {
				inst.Stop()
				t.Fatalf("Start succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Start error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDBPathKeepsTablesAcrossRestarts(t *testing.T) {
	dbPath := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmpl := repoTemplate(t)

	first := mustStart(t, ddblocal.Options{DBPath: dbPath})
	tables, err := ddblocal.CreateTables(ctx, ddblocal.Client(first.Endpoint), tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}

	second := mustStart(t, ddblocal.Options{DBPath: dbPath})
	out, err := ddblocal.Client(second.Endpoint).ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{tables["AuditTable"], tables["KeysTable"]}; !reflect.DeepEqual(out.TableNames, want) {
		t.Errorf("tables after restart = %v, want %v", out.TableNames, want)
	}
}
