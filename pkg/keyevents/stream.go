package keyevents

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditstream"
)

// Sender publishes events and reports one error per event (*Publisher).
type Sender interface {
	Publish(ctx context.Context, evs []Event) []error
}

// StreamHandler consumes the keys table's stream and publishes one event per
// key change the audit trail records (the same decoding, the same rules on
// what counts as a change), so events and audit records agree.
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

// Handle publishes the batch's key changes and reports the stream records
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
		if !auditstream.IsKeyItem(r) {
			continue
		}
		e, ok, err := eventOfRecord(r)
		if err != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "stream record not published",
				slog.String("eventId", r.EventID), slog.String("sequenceNumber", r.Change.SequenceNumber), slog.String("error", err.Error()))
			failed[i] = true
			continue
		}
		if ok {
			evs = append(evs, e)
			from = append(from, i)
		}
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

// eventOfRecord decodes one key item's stream record into its event; ok is
// false when nothing the audit trail records changed.
func eventOfRecord(r *events.DynamoDBEventRecord) (e Event, ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic decoding stream record: %v", p)
		}
	}()
	ae, err := auditstream.Decode(r)
	if err != nil {
		return Event{}, false, err
	}
	rec, ok, err := audit.RecordOf(ae)
	if err != nil || !ok {
		return Event{}, false, err
	}
	name := ""
	if ae.New != nil {
		name = ae.New.Name
	} else if ae.Old != nil {
		name = ae.Old.Name
	}
	return FromRecord(rec, name), true, nil
}
