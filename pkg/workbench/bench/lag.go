package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
)

// AuditLag creates keys in c's tenant at rate per second for d through the
// service (DynamoDB Local's stream, the local poller, the auditstream
// function) and reports, per key, the time from the create's answer to its
// audit record being returned by a query (polled every 10 ms).
func (e *Env) AuditLag(ctx context.Context, c apikey.Caller, rate int, d time.Duration) ([]Result, error) {
	var mu sync.Mutex
	written := map[string]time.Time{}
	seen := map[string]time.Time{}
	var werr error
	finished := false // every write has answered
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	r := rand.New(rand.NewPCG(6, uint64(time.Now().UnixNano())))
	done := make(chan struct{})
	go func() { // the observer
		defer close(done)
		for {
			recs, _, err := e.Audit.Query(ctx, audit.Query{TenantID: c.TenantID, Action: audit.ActionCreated, Limit: 500})
			now := time.Now()
			if err == nil {
				mu.Lock()
				for _, rec := range recs {
					if _, ok := seen[rec.KeyID]; !ok {
						seen[rec.KeyID] = now
					}
				}
				all := finished && (werr != nil || allSeen(written, seen))
				mu.Unlock()
				if all {
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		<-tick.C
		name := randomName("lag ", r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := e.Service.Create(ctx, c, apikey.CreateInput{Name: name, Scopes: []string{"keys:read"}})
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				werr = err
				return
			}
			written[k.ID] = now
		}()
	}
	tick.Stop()
	wg.Wait()
	mu.Lock()
	finished = true
	mu.Unlock()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("audit records still missing 60 s after the last write")
	}
	if werr != nil {
		return nil, werr
	}
	var lags []time.Duration
	for id, w := range written {
		lags = append(lags, max(seen[id].Sub(w), 0))
	}
	achieved := float64(len(written)) / d.Seconds()
	return []Result{
		{Name: fmt.Sprintf("audit lag p50 (%.0f writes/s, %d records)", achieved, len(lags)), Figure: Ms(Percentile(lags, 50)), Floor: "-"},
		{Name: "audit lag p99", Figure: Ms(Percentile(lags, 99)), Floor: "-"},
	}, nil
}

func allSeen(written, seen map[string]time.Time) bool {
	for id := range written {
		if _, ok := seen[id]; !ok {
			return false
		}
	}
	return true
}
