// Package streampoller plays a Lambda event source mapping for a DynamoDB
// stream on this machine: it reads the stream through the DynamoDB Streams
// API (DescribeStream, GetShardIterator, GetRecords) and invokes a function
// with batches of records, the way Lambda does. It is development tooling,
// not for production.
//
// Honoured from the mapping: BatchSize, MaximumBatchingWindowInSeconds,
// StartingPosition (TRIM_HORIZON or LATEST), FilterCriteria (records that
// match no filter are skipped), FunctionResponseTypes
// ReportBatchItemFailures (the batch is retried from the first failed
// sequence number; records before it are done), BisectBatchOnFunctionError,
// MaximumRetryAttempts (bounded here even when the template leaves it
// unlimited) and the on-failure destination, which is only logged: the
// shard and the sequence numbers of the batch, never record contents.
//
// Shards are read one at a time, parents before children, records in order.
// The last sequence number delivered per shard is checkpointed to a file,
// so a restart resumes after it instead of replaying the stream.
package streampoller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/keyward/keyward/pkg/workbench/ddbstream"
)

// Defaults for the zero values of Config.
const (
	DefaultBatchSize    = 100
	DefaultMaxRetries   = 10
	DefaultPollInterval = 250 * time.Millisecond
	maxGetRecords       = 1000 // GetRecords' Limit ceiling
	rediscoverEvery     = 5 * time.Second
	maxBackoff          = 2 * time.Second
)

// API is the part of the DynamoDB Streams client the poller uses;
// *dynamodbstreams.Client satisfies it.
type API interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

var _ API = (*dynamodbstreams.Client)(nil)

// InvokeFunc invokes the function synchronously; functionError reports
// Lambda's X-Amz-Function-Error; err means the invocation did not run.
type InvokeFunc func(ctx context.Context, payload []byte) (out []byte, functionError bool, err error)

// Config describes one event source mapping.
type Config struct {
	// Function names the function, for logs.
	Function string
	// StreamARN is the stream to read; Streams the client to read it with.
	StreamARN string
	Streams   API
	// Invoke runs the function.
	Invoke InvokeFunc
	// BatchSize is the most records per invocation (default 100).
	BatchSize int
	// BatchingWindow is how long to gather records before invoking with
	// fewer than BatchSize (0: invoke with whatever one read returned).
	BatchingWindow time.Duration
	// StartingPosition is TRIM_HORIZON (default) or LATEST, for shards
	// without a checkpoint that are open when the poller starts.
	StartingPosition string
	// MaxRetries bounds the retries of a failing batch: 0 sends it to the
	// on-failure destination after its first failure; negative (AWS's -1,
	// "until the record expires") means DefaultMaxRetries here.
	MaxRetries int
	// Bisect splits a batch in two on a function error.
	Bisect bool
	// ReportBatchItemFailures reads the function's batchItemFailures.
	ReportBatchItemFailures bool
	// Filters are FilterCriteria patterns (JSON); a record matching none is
	// skipped. No filters pass everything.
	Filters []string
	// OnFailure names the on-failure destination, for the log line that
	// stands in for it.
	OnFailure string
	// CheckpointFile keeps the last delivered sequence number per shard;
	// "" keeps them in memory only.
	CheckpointFile string
	// PollInterval is the pause after a read that found nothing (default
	// 250 ms, as Lambda polls a shard about four times a second).
	PollInterval time.Duration
	// Logger receives the poller's messages; nil means slog.Default().
	Logger *slog.Logger
}

// Poller is one running event source mapping.
type Poller struct {
	cfg     Config
	log     *slog.Logger
	filters []pattern

	shards  map[string]*shard
	order   []string
	initial map[string]bool // shards open when the poller started
	ckpt    *checkpoints
}

type shard struct {
	id       string
	parent   string
	iterator string
	closed   bool                         // no more records will come
	read     bool                         // a GetRecords of this shard has answered
	pending  []events.DynamoDBEventRecord // read, not yet delivered
	firstAt  time.Time                    // when pending got its first record
}

// New checks cfg and loads the checkpoints.
func New(cfg Config) (*Poller, error) {
	if cfg.StreamARN == "" || cfg.Streams == nil || cfg.Invoke == nil {
		return nil, errors.New("streampoller: StreamARN, Streams and Invoke are required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.StartingPosition == "" {
		cfg.StartingPosition = string(types.ShardIteratorTypeTrimHorizon)
	}
	if cfg.StartingPosition != string(types.ShardIteratorTypeTrimHorizon) && cfg.StartingPosition != string(types.ShardIteratorTypeLatest) {
		return nil, fmt.Errorf("streampoller: StartingPosition %q: only TRIM_HORIZON and LATEST are supported", cfg.StartingPosition)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	p := &Poller{cfg: cfg, log: log.With("function", cfg.Function), shards: map[string]*shard{}}
	for i, f := range cfg.Filters {
		pat, err := parsePattern(f)
		if err != nil {
			return nil, fmt.Errorf("streampoller: filter %d: %w", i, err)
		}
		p.filters = append(p.filters, pat)
	}
	ck, err := loadCheckpoints(cfg.CheckpointFile)
	if err != nil {
		return nil, err
	}
	p.ckpt = ck
	return p, nil
}

// Run polls until ctx ends, then returns nil. Errors reading the stream are
// logged and retried; only a stream that cannot be described at start is
// returned.
func (p *Poller) Run(ctx context.Context) error {
	if err := p.discover(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	p.initial = map[string]bool{}
	for id, sh := range p.shards {
		if !sh.closed {
			p.initial[id] = true
		}
	}
	lastDiscover := time.Now()
	for ctx.Err() == nil {
		if time.Since(lastDiscover) >= rediscoverEvery {
			if err := p.discover(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn("describe stream failed; retrying", "error", err.Error())
			}
			lastDiscover = time.Now()
		}
		busy := false
		for _, id := range p.order {
			sh := p.shards[id]
			if sh.closed && len(sh.pending) == 0 {
				continue
			}
			if par := p.shards[sh.parent]; par != nil && !(par.closed && len(par.pending) == 0) {
				continue // children wait for their parent
			}
			got, err := p.poll(ctx, sh)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				p.log.Warn("reading the stream failed; retrying", "shard", sh.id, "error", err.Error())
				sh.iterator = ""
				continue
			}
			busy = busy || got
		}
		if !busy {
			select {
			case <-ctx.Done():
			case <-time.After(p.cfg.PollInterval):
			}
		}
	}
	return nil
}

// discover adds shards the stream lists that are not known yet.
func (p *Poller) discover(ctx context.Context) error {
	var start *string
	for {
		out, err := p.cfg.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.cfg.StreamARN), ExclusiveStartShardId: start})
		if err != nil {
			return fmt.Errorf("streampoller: describe stream %s: %w", p.cfg.StreamARN, err)
		}
		if out.StreamDescription == nil {
			return fmt.Errorf("streampoller: describe stream %s: no description", p.cfg.StreamARN)
		}
		for _, s := range out.StreamDescription.Shards {
			id := aws.ToString(s.ShardId)
			if _, ok := p.shards[id]; ok {
				continue
			}
			sh := &shard{id: id, parent: aws.ToString(s.ParentShardId)}
			if s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil {
				// Closed: read it to its end (nothing left if checkpointed there).
				if last := p.ckpt.get(p.cfg.StreamARN, id); last != "" && last == aws.ToString(s.SequenceNumberRange.EndingSequenceNumber) {
					sh.closed = true
				}
			}
			p.shards[id] = sh
			p.order = append(p.order, id)
		}
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return nil
		}
	}
}

// poll reads the shard once and delivers a batch when one is ready. It
// reports whether it found records.
func (p *Poller) poll(ctx context.Context, sh *shard) (bool, error) {
	if !sh.closed && sh.iterator == "" {
		if err := p.openIterator(ctx, sh); err != nil {
			return false, err
		}
	}
	got := false
	if !sh.closed && len(sh.pending) < p.cfg.BatchSize {
		out, err := p.cfg.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{
			ShardIterator: aws.String(sh.iterator),
			Limit:         aws.Int32(int32(min(p.cfg.BatchSize-len(sh.pending), maxGetRecords))),
		})
		if err != nil {
			var expired *types.ExpiredIteratorException
			if errors.As(err, &expired) {
				sh.iterator = ""
				return false, nil
			}
			var trimmed *types.TrimmedDataAccessException
			if errors.As(err, &trimmed) && !sh.read && p.ckpt.get(p.cfg.StreamARN, sh.id) == "" {
				// DynamoDB Local can refuse a new shard's first read from its
				// trim horizon this way. Nothing has been read from the shard,
				// so nothing is skipped: open the trim horizon again, as
				// Lambda's event source mapping does.
				p.log.Debug("first read past the trim horizon; reopening the shard", "shard", sh.id)
				sh.iterator = ""
				return false, nil
			}
			return false, err
		}
		sh.read = true
		for _, r := range out.Records {
			if len(sh.pending) == 0 {
				sh.firstAt = time.Now()
			}
			sh.pending = append(sh.pending, ddbstream.Record(r, p.cfg.StreamARN))
		}
		got = len(out.Records) > 0
		if out.NextShardIterator == nil {
			sh.closed = true
		} else {
			sh.iterator = aws.ToString(out.NextShardIterator)
		}
	}
	if len(sh.pending) == 0 {
		return got, nil
	}
	ready := len(sh.pending) >= p.cfg.BatchSize || sh.closed || time.Since(sh.firstAt) >= p.cfg.BatchingWindow
	if !ready {
		return true, nil
	}
	n := min(len(sh.pending), p.cfg.BatchSize)
	batch := sh.pending[:n:n]
	if err := p.deliver(ctx, sh, batch, 0); err != nil {
		return false, err
	}
	sh.pending = sh.pending[n:]
	if len(sh.pending) > 0 {
		sh.firstAt = time.Now()
	}
	return true, nil
}

// openIterator positions a shard after its checkpoint, else at the
// starting position.
func (p *Poller) openIterator(ctx context.Context, sh *shard) error {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.cfg.StreamARN), ShardId: aws.String(sh.id)}
	if last := p.ckpt.get(p.cfg.StreamARN, sh.id); last != "" {
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.SequenceNumber = aws.String(last)
	} else if p.initial[sh.id] && p.cfg.StartingPosition == string(types.ShardIteratorTypeLatest) {
		in.ShardIteratorType = types.ShardIteratorTypeLatest
	} else {
		in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
	}
	out, err := p.cfg.Streams.GetShardIterator(ctx, in)
	if err != nil && in.ShardIteratorType == types.ShardIteratorTypeAfterSequenceNumber && ctx.Err() == nil {
		// The checkpoint is gone from the stream (trimmed, or a stream
		// rebuilt under the same ARN): start from what is there.
		p.log.Warn("checkpoint not in the stream; reading the shard from its trim horizon", "shard", sh.id, "error", err.Error())
		in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeTrimHorizon, nil
		out, err = p.cfg.Streams.GetShardIterator(ctx, in)
	}
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			sh.closed = true // the shard is gone
			return nil
		}
		return fmt.Errorf("shard iterator: %w", err)
	}
	if out.ShardIterator == nil {
		sh.closed = true
		return nil
	}
	sh.iterator = aws.ToString(out.ShardIterator)
	return nil
}

// deliver invokes the function with batch until it succeeds or the retries
// run out, checkpointing as records are done. It returns an error only when
// ctx ends (the batch stays pending).
func (p *Poller) deliver(ctx context.Context, sh *shard, batch []events.DynamoDBEventRecord, attempts int) error {
	for {
		var pass []events.DynamoDBEventRecord
		for _, r := range batch {
			if p.matches(r) {
				pass = append(pass, r)
			}
		}
		if len(pass) == 0 {
			return p.done(sh, batch[len(batch)-1])
		}
		payload, err := json.Marshal(events.DynamoDBEvent{Records: pass})
		if err != nil {
			return fmt.Errorf("encode batch: %w", err)
		}
		out, fnErr, err := p.cfg.Invoke(ctx, payload)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.log.Warn("invocation did not run; retrying", "shard", sh.id, "error", err.Error())
			if err := sleep(ctx, backoff(attempts)); err != nil {
				return err
			}
			continue
		}
		failedAt := -1 // index in batch of the first record to retry
		switch {
		case fnErr && p.cfg.Bisect && len(batch) > 1:
			half := len(batch) / 2
			p.log.Warn("function error; bisecting the batch", "shard", sh.id, "records", len(batch))
			if err := p.deliver(ctx, sh, batch[:half], attempts+1); err != nil {
				return err
			}
			return p.deliver(ctx, sh, batch[half:], attempts+1)
		case fnErr:
			failedAt = 0
		case p.cfg.ReportBatchItemFailures:
			failedAt = firstFailure(out, batch)
		}
		if failedAt < 0 {
			return p.done(sh, batch[len(batch)-1])
		}
		if failedAt > 0 {
			if err := p.done(sh, batch[failedAt-1]); err != nil {
				return err
			}
			batch = batch[failedAt:]
		}
		attempts++
		if attempts > p.cfg.MaxRetries {
			p.log.Error("batch failed after its retries; sent to the on-failure destination",
				"shard", sh.id, "destination", p.cfg.OnFailure, "records", len(batch),
				"firstSequenceNumber", batch[0].Change.SequenceNumber,
				"lastSequenceNumber", batch[len(batch)-1].Change.SequenceNumber)
			return p.done(sh, batch[len(batch)-1])
		}
		p.log.Warn("batch failed; retrying", "shard", sh.id, "attempt", attempts, "records", len(batch),
			"firstSequenceNumber", batch[0].Change.SequenceNumber)
		if err := sleep(ctx, backoff(attempts)); err != nil {
			return err
		}
	}
}

// firstFailure reads a ReportBatchItemFailures response and returns the
// index of the earliest failed record, -1 for none. A response that cannot
// be read, or names a record not in the batch, fails the whole batch (0),
// as Lambda does.
func firstFailure(out []byte, batch []events.DynamoDBEventRecord) int {
	if len(out) == 0 || string(out) == "null" {
		return -1
	}
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0
	}
	first := -1
	for _, f := range resp.BatchItemFailures {
		if f.ItemIdentifier == nil || *f.ItemIdentifier == "" {
			return 0
		}
		idx := -1
		for i, r := range batch {
			if r.Change.SequenceNumber == *f.ItemIdentifier {
				idx = i
				break
			}
		}
		if idx < 0 {
			return 0
		}
		if first < 0 || idx < first {
			first = idx
		}
	}
	return first
}

// done checkpoints r as the shard's last delivered record.
func (p *Poller) done(sh *shard, r events.DynamoDBEventRecord) error {
	if err := p.ckpt.set(p.cfg.StreamARN, sh.id, r.Change.SequenceNumber); err != nil {
		p.log.Warn("checkpoint not saved", "error", err.Error())
	}
	return nil
}

func (p *Poller) matches(r events.DynamoDBEventRecord) bool {
	if len(p.filters) == 0 {
		return true
	}
	b, err := json.Marshal(r)
	if err != nil {
		return false
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return false
	}
	for _, f := range p.filters {
		if f.match(doc) {
			return true
		}
	}
	return false
}

func backoff(attempt int) time.Duration {
	return min(time.Duration(attempt+1)*200*time.Millisecond, maxBackoff)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// checkpoints are the last delivered sequence numbers, by stream and shard.
type checkpoints struct {
	path string
	mu   sync.Mutex
	m    map[string]map[string]string
}

func loadCheckpoints(path string) (*checkpoints, error) {
	c := &checkpoints{path: path, m: map[string]map[string]string{}}
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("streampoller: %w", err)
	}
	if err := json.Unmarshal(b, &c.m); err != nil {
		return nil, fmt.Errorf("streampoller: %s: %w", path, err)
	}
	return c, nil
}

func (c *checkpoints) get(stream, shard string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[stream][shard]
}

// set records seq and rewrites the file atomically.
func (c *checkpoints) set(stream, shard, seq string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[stream] == nil {
		c.m[stream] = map[string]string{}
	}
	c.m[stream][shard] = seq
	if c.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(c.m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return err
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.path)
}
