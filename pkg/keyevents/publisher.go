package keyevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/keyward/keyward/pkg/retry"
)

// PutEventsAPI is the EventBridge call the publisher makes, with the SDK's
// signature (*eventbridge.Client satisfies it).
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// PutEvents limits: entries per call and bytes per call (EventBridge counts
// source, detail-type, detail and resources).
const (
	maxBatchEntries = 10
	maxBatchBytes   = 256 * 1024
)

// DefaultAttempts is how often the publisher tries an entry before giving
// up on it (the SDK retries throttled calls within each attempt too).
const DefaultAttempts = 4

// Publisher puts events on one bus, retrying entries EventBridge refused.
type Publisher struct {
	api      PutEventsAPI
	bus      string
	attempts int
	sleep    func(context.Context, time.Duration) error
}

// NewPublisher returns a Publisher putting events on bus (a name or ARN).
func NewPublisher(api PutEventsAPI, bus string) *Publisher {
	return &Publisher{api: api, bus: bus, attempts: DefaultAttempts, sleep: retry.Sleep}
}

// WithRetries returns a copy of p trying each entry attempts times and
// waiting with sleep between tries (tests pass one that does not wait).
func (p *Publisher) WithRetries(attempts int, sleep func(context.Context, time.Duration) error) *Publisher {
	q := *p
	q.attempts, q.sleep = max(attempts, 1), sleep
	return &q
}

// ErrNotPublished is the error of an event EventBridge did not accept after
// every attempt; it names the EventBridge error code, never event data.
var ErrNotPublished = errors.New("event not published")

// Publish puts evs on the bus and returns one error per event, nil for each
// event accepted. Entries EventBridge refuses (throttling, internal errors)
// and failed calls are retried with backoff.
func (p *Publisher) Publish(ctx context.Context, evs []Event) []error {
	errs := make([]error, len(evs))
	entries := make([]types.PutEventsRequestEntry, len(evs))
	sizes := make([]int, len(evs))
	pending := make([]int, 0, len(evs))
	for i, e := range evs {
		detail, err := json.Marshal(e)
		if err != nil {
			errs[i] = fmt.Errorf("encode event: %w", err)
			continue
		}
		entries[i] = types.PutEventsRequestEntry{
			EventBusName: aws.String(p.bus),
			Source:       aws.String(Source),
			DetailType:   aws.String(string(e.Type)),
			Detail:       aws.String(string(detail)),
			Time:         aws.Time(e.At),
		}
		sizes[i] = len(detail) + len(Source) + len(e.Type) + 64
		pending = append(pending, i)
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		var again []int
		for _, batch := range batches(pending, sizes) {
			again = append(again, p.put(ctx, batch, entries, errs)...)
		}
		pending = again
		if len(pending) == 0 || attempt >= p.attempts {
			break
		}
		if err := p.sleep(ctx, retry.Backoff(attempt-1, 100*time.Millisecond, 5*time.Second)); err != nil {
			for _, i := range pending {
				errs[i] = err
			}
			break
		}
	}
	return errs
}

// put sends one batch and returns the indexes to retry, setting their errors.
func (p *Publisher) put(ctx context.Context, batch []int, entries []types.PutEventsRequestEntry, errs []error) []int {
	in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(batch))}
	for j, i := range batch {
		in.Entries[j] = entries[i]
	}
	out, err := p.api.PutEvents(ctx, in)
	if err != nil || out == nil || len(out.Entries) != len(batch) {
		for _, i := range batch {
			errs[i] = fmt.Errorf("%w: PutEvents call failed", ErrNotPublished)
		}
		return batch
	}
	var retry []int
	for j, i := range batch {
		if code := aws.ToString(out.Entries[j].ErrorCode); code != "" {
			errs[i] = fmt.Errorf("%w: %s", ErrNotPublished, code)
			retry = append(retry, i)
			continue
		}
		errs[i] = nil
	}
	return retry
}

// batches splits idx into PutEvents calls within the entry and size limits.
func batches(idx []int, sizes []int) [][]int {
	var out [][]int
	var cur []int
	bytes := 0
	for _, i := range idx {
		if len(cur) == maxBatchEntries || (len(cur) > 0 && bytes+sizes[i] > maxBatchBytes) {
			out = append(out, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, i)
		bytes += sizes[i]
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
