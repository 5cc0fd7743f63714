package authorizer_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
)

// heldTouches holds the real store's lastUsedAt writes until released.
type heldTouches struct {
	*countingStore
	started, release chan struct{}
}

func (h *heldTouches) TouchLastUsed(ctx context.Context, id string, at time.Time, minInterval time.Duration) (bool, error) {
	h.started <- struct{}{}
	<-h.release
	return h.countingStore.TouchLastUsed(ctx, id, at, minInterval)
}

// TestLambdaAnswersBeforeTheUsageWrite: HandleLambda answers while the
// key's lastUsedAt write is still in flight, and the answer's Close (which
// aws-lambda-go calls after posting it, before asking for the next event)
// returns only once the write is stored: the write is never left for a
// frozen process.
func TestLambdaAnswersBeforeTheUsageWrite(t *testing.T) {
	s := newStack(t, authorizer.Config{KeyCacheTTL: time.Second})
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
	held := &heldTouches{countingStore: s.store, started: make(chan struct{}, 1), release: make(chan struct{})}
	a := authorizer.New(held, s.hasher, s.cfg, authorizer.WithClock(s.clock.Now), authorizer.WithLogger(s.log))
	ctx := context.Background()
	raw, _ := json.Marshal(request(bearer(iss.Token), "GET", "/v1/whoami"))
	lastUsed := func() time.Time {
		t.Helper()
		m, err := s.raw.LastUsed(ctx, []string{iss.ID})
		if err != nil {
			t.Fatal(err)
		}
		return m[iss.ID]
	}

	answered := make(chan *authorizer.Response, 1)
	go func() {
		resp, err := a.HandleLambda(ctx, raw)
		if err != nil {
			t.Error(err)
		}
		answered <- resp
	}()
	<-held.started
	var resp *authorizer.Response
	select {
	case resp = <-answered:
	case <-time.After(time.Minute): // a deadlock, not a slow machine
		close(held.release)
		t.Fatal("HandleLambda waited for the lastUsedAt write before answering")
	}
	body, err := io.ReadAll(resp)
	if err != nil || !strings.Contains(string(body), `"Effect":"Allow"`) || resp.ContentType() != "application/json" {
		t.Fatalf("answer %s, %v", body, err)
	}
	if got := lastUsed(); !got.IsZero() {
		t.Fatalf("lastUsedAt = %v while the write is held", got)
	}
	close(held.release)
	if err := resp.Close(); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(t0) {
		t.Errorf("lastUsedAt = %v after Close, want %v", got, t0)
	}
}

// TestLambdaHandlerPostsTheAnswer: through aws-lambda-go's own handler
// wrapping, HandleLambda's answer is the same JSON HandleEvent's value
// encodes to (not the Response struct's own encoding), and a refusal is
// the error API Gateway reads.
func TestLambdaHandlerPostsTheAnswer(t *testing.T) {
	s := newStack(t, authorizer.Config{})
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
	ctx := context.Background()
	raw, _ := json.Marshal(request(bearer(iss.Token), "GET", "/v1/whoami"))
	got, err := lambda.NewHandler(s.auth.HandleLambda).Invoke(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	want, err := lambda.NewHandler(s.auth.HandleEvent).Invoke(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) || !strings.Contains(string(got), `"principalId":"`+iss.ID+`"`) {
		t.Errorf("HandleLambda posted %s\nHandleEvent posts  %s", got, want)
	}
	bad, _ := json.Marshal(request(bearer(iss.Token+"x"), "GET", "/v1/whoami"))
	if _, err := lambda.NewHandler(s.auth.HandleLambda).Invoke(ctx, bad); err == nil || err.Error() != "Unauthorized" {
		t.Errorf("err = %v, want Unauthorized", err)
	}
}
