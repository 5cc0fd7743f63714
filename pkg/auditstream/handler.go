// Package auditstream is the keys table's stream consumer: it
// turns each stream record of a key item into at most one audit record and
// appends it to the audit table. It skips non-key items (usage, name claims,
// peppers) and changes of nothing audited (lastUsedAt, bookkeeping), never
// copies secret hashes, and reports only the records it failed on, by
// sequence number, so Lambda retries from there (ReportBatchItemFailures).
// Records are written idempotently, so a retried or redelivered batch writes
// nothing new.
package auditstream

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keyward/keyward/pkg/audit"
)

// Appender appends audit records; *auditstore.Store satisfies it.
type Appender interface {
	Put(ctx context.Context, r audit.Record) (bool, error)
}

// ttlPrincipal is the userIdentity DynamoDB gives the REMOVE records its TTL
// process makes.
const (
	ttlIdentityType = "Service"
	ttlPrincipal    = "dynamodb.amazonaws.com"
)

// concurrency bounds the puts in flight for one batch.
const concurrency = 8

// Handler consumes batches of the keys table's stream.
type Handler struct {
	store Appender
	log   *slog.Logger
}

// New returns a Handler appending to store and logging to log
// (slog.Default when nil).
func New(store Appender, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{store: store, log: log}
}

// outcome is what became of one stream record.
type outcome int

const (
	skipped   outcome = iota // not a key item, or nothing audited changed
	written                  // a new audit record
	duplicate                // its audit record was already there (a redelivery)
	failed                   // to be retried: reported to Lambda
)

// Handle records every key change of the batch and reports the records it
// could not record: a malformed image (a poison record, which the event
// source's retries, bisection and on-failure destination then deal with) or
// a failed write. It never returns an error: that would retry the whole
// batch, where reporting records retries from the first one that failed.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	results := make([]outcome, len(ev.Records))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i := range ev.Records {
		if !isKeyItem(&ev.Records[i]) && !isPolicyItem(&ev.Records[i]) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			results[i] = h.record(ctx, &ev.Records[i])
		}(i)
	}
	wg.Wait()

	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	var counts [failed + 1]int
	for i, o := range results {
		counts[o]++
		if o == failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures,
				events.DynamoDBBatchItemFailure{ItemIdentifier: ev.Records[i].Change.SequenceNumber})
		}
	}
	attrs := []slog.Attr{
		slog.Int("records", len(ev.Records)), slog.Int("written", counts[written]),
		slog.Int("duplicates", counts[duplicate]), slog.Int("skipped", counts[skipped]), slog.Int("failed", counts[failed]),
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		attrs = append(attrs, slog.String("lambdaRequestId", lc.AwsRequestID))
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "stream batch", attrs...)
	return resp, nil
}

// record turns one key item's stream record into its audit record and writes it.
func (h *Handler) record(ctx context.Context, r *events.DynamoDBEventRecord) (out outcome) {
	defer func() {
		if p := recover(); p != nil {
			h.fail(ctx, r, "", fmt.Errorf("panic: %v", p))
			out = failed
		}
	}()
	var rec audit.Record
	var ok bool
	var err error
	if isPolicyItem(r) {
		rec, ok, err = audit.PolicyRecordOf(r.EventID, r.Change.SequenceNumber, r.Change.ApproximateCreationDateTime.Time,
			policyVersion(r.Change.OldImage), policyVersion(r.Change.NewImage))
	} else {
		var e audit.Event
		if e, err = eventOf(r); err != nil {
			h.fail(ctx, r, "", err)
			return failed
		}
		rec, ok, err = audit.RecordOf(e)
	}
	if err != nil {
		h.fail(ctx, r, "", err)
		return failed
	}
	if !ok {
		return skipped
	}
	wrote, err := h.store.Put(ctx, rec)
	if err != nil {
		h.fail(ctx, r, rec.KeyID, err)
		return failed
	}
	if !wrote {
		return duplicate
	}
	return written
}

// fail logs why a stream record is reported: its identifiers and the error,
// which names problems, never values from the images.
func (h *Handler) fail(ctx context.Context, r *events.DynamoDBEventRecord, keyID string, err error) {
	attrs := []slog.Attr{
		slog.String("eventId", r.EventID),
		slog.String("sequenceNumber", r.Change.SequenceNumber),
		slog.String("eventName", r.EventName),
		slog.String("error", err.Error()),
	}
	if keyID != "" {
		attrs = append(attrs, slog.String("keyId", keyID))
	}
	h.log.LogAttrs(ctx, slog.LevelError, "stream record not recorded", attrs...)
}

// eventOf decodes a key item's stream record into an audit event.
func eventOf(r *events.DynamoDBEventRecord) (audit.Event, error) {
	e := audit.Event{
		ID:       r.EventID,
		Sequence: r.Change.SequenceNumber,
		Kind:     audit.EventKind(r.EventName),
		At:       r.Change.ApproximateCreationDateTime.Time,
		ByTTL: r.UserIdentity != nil && r.UserIdentity.Type == ttlIdentityType &&
			r.UserIdentity.PrincipalID == ttlPrincipal,
		SecretChanged: secretChanged(r.Change.OldImage, r.Change.NewImage),
	}
	var err error
	if e.Old, err = decodeVersion(r.Change.OldImage, "old"); err != nil {
		return audit.Event{}, err
	}
	if e.New, err = decodeVersion(r.Change.NewImage, "new"); err != nil {
		return audit.Event{}, err
	}
	return e, nil
}
