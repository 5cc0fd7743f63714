package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleepEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a done context = %v, want context.Canceled", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep = %v", err)
	}
}

func TestBackoffDoublesWithinItsCap(t *testing.T) {
	for attempt := range 40 {
		want := 200 * time.Millisecond
		for range min(attempt, 30) {
			want = min(5*time.Second, want*2)
		}
		for range 50 {
			got := Backoff(attempt, 200*time.Millisecond, 5*time.Second)
			if got < want/2 || got > want {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", attempt, got, want/2, want)
			}
		}
	}
}
