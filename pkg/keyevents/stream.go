package keyevents

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/auditstore"
	"github.com/keyward/keyward/pkg/dynamostore"
)

// Sender publishes events and reports one error per event (*Publisher).
type Sender interface {
	Publish(ctx context.Context, evs []Event) []error
}

// StreamHandler consumes the audit table's stream and publishes one event per
// audit record written (INSERT), so events and the audit trail agree. The
// keys table's stream is not read: DynamoDB Streams serves at most two readers
// per shard, and those are the audit trail and the flush.
type StreamHandler struct {
	send Sender
	log  *slog.Logger
}

// NewStreamHandler returns a StreamHandler publishing through send.
func NewStreamHandler(send Sender, log *slog.Logger) *StreamHandler {
	if log == nil {
		log = slog.Default()
	}
	return &StreamHandler{send: send, log: log}
}

// Handle publishes the batch's new audit records and reports the stream records
// whose events were not published (ReportBatchItemFailures), so Lambda
// retries from the first of them; events published before it may be
// published again, with the same IDs. A record that cannot be decoded is
// reported too (retries, bisection and the on-failure destination deal with
// it). It never returns an error.
func (h *StreamHandler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	var evs []Event
	var from []int // stream record index of each event
	failed := map[int]bool{}
	for i := range ev.Records {
		r := &ev.Records[i]
		if r.EventName != string(events.DynamoDBOperationTypeInsert) {
			continue // TTL removals of old records (the event source filters them in AWS)
		}
		e, err := eventOfRecord(r)
		if err != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "stream record not published",
				slog.String("eventId", r.EventID), slog.String("sequenceNumber", r.Change.SequenceNumber), slog.String("error", err.Error()))
			failed[i] = true
			continue
		}
		evs = append(evs, e)
		from = append(from, i)
	}
	published := 0
	if len(evs) > 0 {
		for j, err := range h.send.Publish(ctx, evs) {
			if err != nil {
				h.log.LogAttrs(ctx, slog.LevelError, "event not published", slog.String("type", string(evs[j].Type)),
					slog.String("keyId", evs[j].KeyID), slog.String("eventId", evs[j].ID), slog.String("error", err.Error()))
				failed[from[j]] = true
				continue
			}
			published++
		}
	}
	for i := range ev.Records {
		if failed[i] {
			resp.BatchItemFailures = append(resp.BatchItemFailures,
				events.DynamoDBBatchItemFailure{ItemIdentifier: ev.Records[i].Change.SequenceNumber})
		}
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "stream batch", slog.Int("records", len(ev.Records)),
		slog.Int("published", published), slog.Int("failed", len(resp.BatchItemFailures)))
	return resp, nil
}

// eventOfRecord decodes one audit record INSERT into its event.
func eventOfRecord(r *events.DynamoDBEventRecord) (e Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic decoding stream record: %v", p)
		}
	}()
	if r.Change.NewImage == nil {
		return Event{}, fmt.Errorf("INSERT without a new image")
	}
	rec, err := auditstore.DecodeItem(dynamostore.FromStreamImage(r.Change.NewImage))
	if err != nil {
		return Event{}, err
	}
	return FromRecord(rec), nil
}
