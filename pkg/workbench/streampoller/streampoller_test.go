package streampoller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/streampoller"
)

func TestMain(m *testing.M) { ddblocaltest.Main(m) }

// stream is a table with a stream in the shared DynamoDB Local.
type stream struct {
	client *dynamodb.Client
	table  string
	arn    string
}

func newStream(t *testing.T) *stream {
	t.Helper()
	table := ddblocaltest.Tables(t)["KeysTable"]
	client := ddblocal.Client(ddblocaltest.Shared(t).Endpoint)
	out, err := client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	return &stream{client: client, table: table, arn: aws.ToString(out.Table.LatestStreamArn)}
}

// put writes items pk=<prefix>#<i>, sk=sk for i in [from, to).
func (s *stream) put(t *testing.T, prefix, sk string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		_, err := s.client.PutItem(context.Background(), &dynamodb.PutItemInput{
			TableName: aws.String(s.table),
			Item: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("%s#%03d", prefix, i)},
				"sk": &types.AttributeValueMemberS{Value: sk},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// recorder is the function: it records every batch and answers with
// respond's output.
type recorder struct {
	mu      sync.Mutex
	batches [][]string // pk of each record
	respond func(call int, ev events.DynamoDBEvent) (out string, fnErr bool)
}

func (r *recorder) invoke(_ context.Context, payload []byte) ([]byte, bool, error) {
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, false, err
	}
	r.mu.Lock()
	var pks []string
	for _, rec := range ev.Records {
		pks = append(pks, rec.Change.Keys["pk"].String())
	}
	r.batches = append(r.batches, pks)
	call := len(r.batches)
	r.mu.Unlock()
	if r.respond == nil {
		return []byte(`{"batchItemFailures":[]}`), false, nil
	}
	out, fnErr := r.respond(call, ev)
	return []byte(out), fnErr, nil
}

func (r *recorder) delivered() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []string
	for _, b := range r.batches {
		all = append(all, b...)
	}
	return all
}

func (r *recorder) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []int
	for _, b := range r.batches {
		s = append(s, len(b))
	}
	return s
}

// waitFor polls cond for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func run(t *testing.T, cfg streampoller.Config) (stop func()) {
	t.Helper()
	p, err := streampoller.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func pks(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s#%03d", prefix, i))
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func TestBatchesInOrderOfBatchSize(t *testing.T) {
	s := newStream(t)
	s.put(t, "A", "KEY", 0, 25)
	rec := &recorder{}
	run(t, streampoller.Config{Function: "F", StreamARN: s.arn, Streams: ddblocal.StreamsClient(ddblocaltest.Shared(t).Endpoint),
		Invoke: rec.invoke, BatchSize: 10, PollInterval: 20 * time.Millisecond})
	want := pks("A", 0, 25)
	waitFor(t, "25 records", func() bool { return len(rec.delivered()) >= 25 })
	if got := rec.delivered(); !equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	for _, n := range rec.sizes() {
		if n > 10 {
			t.Errorf("batch sizes %v exceed 10", rec.sizes())
		}
	}
}

func TestPartialBatchFailureRetriesFromTheFirstFailure(t *testing.T) {
	s := newStream(t)
	s.put(t, "B", "KEY", 0, 6)
	failed := false
	rec := &recorder{respond: func(call int, ev events.DynamoDBEvent) (string, bool) {
		for _, r := range ev.Records {
			if r.Change.Keys["pk"].String() == "B#003" && !failed {
				failed = true
				return fmt.Sprintf(`{"batchItemFailures":[{"itemIdentifier":%q}]}`, r.Change.SequenceNumber), false
			}
		}
		return `{"batchItemFailures":[]}`, false
	}}
	run(t, streampoller.Config{Function: "F", StreamARN: s.arn, Streams: ddblocal.StreamsClient(ddblocaltest.Shared(t).Endpoint),
		Invoke: rec.invoke, BatchSize: 100, ReportBatchItemFailures: true, MaxRetries: 3, PollInterval: 20 * time.Millisecond})
	waitFor(t, "the retry", func() bool { return len(rec.delivered()) >= 9 })
	time.Sleep(200 * time.Millisecond)
	want := append(pks("B", 0, 6), pks("B", 3, 6)...)
	if got := rec.delivered(); !equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

func TestRetriesAreBoundedThenLogged(t *testing.T) {
	s := newStream(t)
	s.put(t, "C", "KEY", 0, 2)
	rec := &recorder{respond: func(call int, ev events.DynamoDBEvent) (string, bool) {
		if ev.Records[0].Change.Keys["pk"].String() == "C#000" {
			return `{"errorMessage":"poison"}`, true
		}
		return `{}`, false
	}}
	var logs bytes.Buffer
	var logMu sync.Mutex
	run(t, streampoller.Config{Function: "F", StreamARN: s.arn, Streams: ddblocal.StreamsClient(ddblocaltest.Shared(t).Endpoint),
		Invoke: rec.invoke, BatchSize: 1, MaxRetries: 2, OnFailure: "arn:aws:sqs:us-east-1:000000000000:dlq",
		PollInterval: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(syncWriter{&logMu, &logs}, nil))})
	waitFor(t, "the record after the poison one", func() bool {
		d := rec.delivered()
		return len(d) > 0 && d[len(d)-1] == "C#001"
	})
	if got, want := rec.delivered(), []string{"C#000", "C#000", "C#000", "C#001"}; !equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "on-failure destination") || !strings.Contains(logs.String(), "dlq") {
		t.Errorf("no on-failure log line:\n%s", logs.String())
	}
}

func TestBisectOnFunctionError(t *testing.T) {
	s := newStream(t)
	s.put(t, "D", "KEY", 0, 4)
	var mu sync.Mutex
	poisonSeen := 0
	rec := &recorder{respond: func(call int, ev events.DynamoDBEvent) (string, bool) {
		for _, r := range ev.Records {
			if r.Change.Keys["pk"].String() == "D#002" {
				mu.Lock()
				poisonSeen++
				mu.Unlock()
				return `{"errorMessage":"poison"}`, true
			}
		}
		return `{}`, false
	}}
	run(t, streampoller.Config{Function: "F", StreamARN: s.arn, Streams: ddblocal.StreamsClient(ddblocaltest.Shared(t).Endpoint),
		Invoke: rec.invoke, BatchSize: 4, Bisect: true, MaxRetries: 1, BatchingWindow: 500 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	waitFor(t, "D#003 delivered", func() bool {
		for _, pk := range rec.delivered() {
			if pk == "D#003" {
				return true
			}
		}
		return false
	})
	// The good records outside the poison one's half arrive on their own.
	got := map[string]int{}
	for _, pk := range rec.delivered() {
		got[pk]++
	}
	if got["D#000"] == 0 || got["D#001"] == 0 || got["D#003"] == 0 {
		t.Errorf("delivered %v", rec.delivered())
	}
}

func TestFiltersSkipRecords(t *testing.T) {
	s := newStream(t)
	s.put(t, "E", "USAGE", 0, 3)
	s.put(t, "E", "KEY", 3, 5)
	rec := &recorder{}
	run(t, streampoller.Config{Function: "F", StreamARN: s.arn, Streams: ddblocal.StreamsClient(ddblocaltest.Shared(t).Endpoint),
		Invoke: rec.invoke, Filters: []string{`{"dynamodb":{"Keys":{"sk":{"S":["KEY"]}}}}`}, PollInterval: 20 * time.Millisecond})
	waitFor(t, "the KEY records", func() bool { return len(rec.delivered()) >= 2 })
	time.Sleep(200 * time.Millisecond)
	if got, want := rec.delivered(), pks("E", 3, 5); !equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

func TestCheckpointsSurviveARestart(t *testing.T) {
	s := newStream(t)
	file := filepath.Join(t.TempDir(), "checkpoints.json")
	s.put(t, "F", "KEY", 0, 3)
	cfg := func(rec *recorder) streampoller.Config {
		return streampoller.Config{Function: "F", StreamARN: s.arn, Streams: ddblocal.StreamsClient(ddblocaltest.Shared(t).Endpoint),
			Invoke: rec.invoke, CheckpointFile: file, PollInterval: 20 * time.Millisecond}
	}
	first := &recorder{}
	stop := run(t, cfg(first))
	waitFor(t, "the first records", func() bool { return len(first.delivered()) >= 3 })
	stop()

	s.put(t, "F", "KEY", 3, 5)
	second := &recorder{}
	run(t, cfg(second))
	waitFor(t, "the new records", func() bool { return len(second.delivered()) >= 2 })
	time.Sleep(200 * time.Millisecond)
	if got, want := second.delivered(), pks("F", 3, 5); !equal(got, want) {
		t.Errorf("after the restart delivered %v, want %v", got, want)
	}
}

func TestLatestSkipsWhatIsAlreadyThere(t *testing.T) {
	s := newStream(t)
	s.put(t, "G", "KEY", 0, 2)
	rec := &recorder{}
	p, err := streampoller.New(streampoller.Config{Function: "F", StreamARN: s.arn, Streams: ddblocal.StreamsClient(ddblocaltest.Shared(t).Endpoint),
		Invoke: rec.invoke, StartingPosition: "LATEST", PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(500 * time.Millisecond) // the iterator is positioned
	s.put(t, "G", "KEY", 2, 3)
	waitFor(t, "the new record", func() bool { return len(rec.delivered()) >= 1 })
	if got, want := rec.delivered(), pks("G", 2, 3); !equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

type syncWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// trimmedOnce is the real Streams client with the first GetRecords answered
// by a TrimmedDataAccessException, as DynamoDB Local sometimes answers a new
// shard's first read.
type trimmedOnce struct {
	streampoller.API
	mu   sync.Mutex
	done bool
}

func (t *trimmedOnce) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	t.mu.Lock()
	first := !t.done
	t.done = true
	t.mu.Unlock()
	if first {
		return nil, &streamtypes.TrimmedDataAccessException{Message: aws.String("The operation attempted to read past the oldest stream record in a shard.")}
	}
	return t.API.GetRecords(ctx, in, optFns...)
}

// TestFirstReadPastTheTrimHorizonReopensQuietly: a shard's first read
// refused as past the trim horizon is read again from the trim horizon,
// with no record lost and no warning logged.
func TestFirstReadPastTheTrimHorizonReopensQuietly(t *testing.T) {
	s := newStream(t)
	s.put(t, "T", "KEY", 0, 5)
	rec := &recorder{}
	var logMu sync.Mutex
	var logs bytes.Buffer
	run(t, streampoller.Config{Function: "F", StreamARN: s.arn, Streams: &trimmedOnce{API: ddblocal.StreamsClient(ddblocaltest.Shared(t).Endpoint)},
		Invoke: rec.invoke, BatchSize: 10, PollInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(syncWriter{&logMu, &logs}, nil))})
	waitFor(t, "5 records", func() bool { return len(rec.delivered()) >= 5 })
	if got, want := rec.delivered(), pks("T", 0, 5); !equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("a warning was logged:\n%s", logs.String())
	}
}
