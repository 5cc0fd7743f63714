package keyevents_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/keyward/keyward/pkg/keyevents"
)

// flaky answers PutEvents, refusing each entry whose detail-type is in
// refuse for its first tries calls, and records the batch sizes.
type flaky struct {
	refuse  map[string]int
	batches []int
	fail    int // whole calls to fail first
}

func (f *flaky) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.batches = append(f.batches, len(in.Entries))
	if f.fail > 0 {
		f.fail--
		return nil, errors.New("connection reset")
	}
	out := &eventbridge.PutEventsOutput{}
	for _, e := range in.Entries {
		if f.refuse[*e.DetailType] > 0 {
			f.refuse[*e.DetailType]--
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String("ThrottlingException")})
			continue
		}
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("x")})
	}
	return out, nil
}

func noWait(context.Context, time.Duration) error { return nil }

func TestPublisherRetriesOnlyRefusedEntriesAndBatchesByTen(t *testing.T) {
	f := &flaky{refuse: map[string]int{"key.revoked": 2}, fail: 1}
	evs := make([]keyevents.Event, 12)
	for i := range evs {
		evs[i] = keyevents.Event{ID: "evt", Type: keyevents.KeyCreated}
	}
	evs[11].Type = keyevents.KeyRevoked
	errs := keyevents.NewPublisher(f, "bus").WithRetries(4, noWait).Publish(context.Background(), evs)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	// 10 (call fails) + 2 (revoked refused); 10 + 1 (refused again); 1.
	if got, want := f.batches, []int{10, 2, 10, 1, 1}; !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
}

func TestPublisherGivesUpAfterItsAttempts(t *testing.T) {
	f := &flaky{refuse: map[string]int{"key.leaked": 99}}
	errs := keyevents.NewPublisher(f, "bus").WithRetries(3, noWait).Publish(context.Background(),
		[]keyevents.Event{{Type: keyevents.KeyLeaked}, {Type: keyevents.KeyCreated}})
	if !errors.Is(errs[0], keyevents.ErrNotPublished) || errs[1] != nil {
		t.Fatalf("errs = %v", errs)
	}
	if len(f.batches) != 3 {
		t.Fatalf("calls = %v", f.batches)
	}
}
