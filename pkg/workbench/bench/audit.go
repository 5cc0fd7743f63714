package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditstore"
)

// Realistic audit data for one tenant: most records come from one
// automation's updates; people create, rotate and revoke now and then.
const (
	BenchAutomation = "key_01JBENCHAVT0MAT10N000000AA"
	benchPeople     = 20
)

// SeedAudit writes n audit records for tenant over the last 30 days: 60%
// updates by one automation key, the rest by 20 people (creations,
// updates, rotations and a few revocations), over n/10 keys.
func (e *Env) SeedAudit(ctx context.Context, tenant string, n int) error {
	recs := make(chan audit.Record, 1024)
	go func() {
		defer close(recs)
		r := rand.New(rand.NewPCG(3, 4))
		now := time.Now().UTC()
		keys := max(n/10, 1)
		for i := range n {
			rec := audit.Record{
				ID: audit.RecordID("bench-"+strconv.Itoa(i), strconv.Itoa(i)), TenantID: tenant,
				KeyID: fmt.Sprintf("key_01JBENCH%018d", r.IntN(keys)),
				At:    now.Add(-time.Duration(r.Int64N(int64(30 * 24 * time.Hour)))),
			}
			switch p := r.IntN(100); {
			case p < 60:
				rec.Actor, rec.Action = BenchAutomation, audit.ActionUpdated
			default:
				rec.Actor = fmt.Sprintf("person-%02d", r.IntN(benchPeople))
				switch {
				case p < 75:
					rec.Action = audit.ActionCreated
				case p < 88:
					rec.Action = audit.ActionUpdated
				case p < 97:
					rec.Action = audit.ActionRotated
				default:
					rec.Action = audit.ActionRevoked
				}
			}
			select {
			case recs <- rec:
			case <-ctx.Done():
				return
			}
		}
	}()
	// The store encodes each record (through items) and BatchWrite writes them.
	items := make(chan map[string]types.AttributeValue, 1024)
	enc := auditstore.New(itemSink(items), e.Audit.Table(), 0)
	errc := make(chan error, 1)
	go func() {
		defer close(items)
		for rec := range recs {
			if _, err := enc.Put(ctx, rec); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	if err := BatchWrite(ctx, e.DB, e.Audit.Table(), items, 8); err != nil {
		return err
	}
	return <-errc
}

// itemSink is an auditstore.API whose PutItem hands the item on instead
// of writing it, so records are encoded exactly as the store writes them.
type itemSink chan<- map[string]types.AttributeValue

func (s itemSink) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	select {
	case s <- in.Item:
		return &dynamodb.PutItemOutput{}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (itemSink) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, errors.New("bench: the item sink is write-only")
}

// AuditPages times first pages of 50 of tenant's audit trail: unfiltered
// (the floor), with one filter (a person) and with two (the automation's
// revocations: it has none, the case that read through all its updates,
// and a person's revocations), n alternating runs each.
func (e *Env) AuditPages(ctx context.Context, tenant string, n int) ([]Result, error) {
	qs := []struct {
		name string
		q    audit.Query
	}{
		{"unfiltered", audit.Query{}},
		{"one filter (actor)", audit.Query{Actor: "person-07"}},
		{"two filters (actor, action)", audit.Query{Actor: "person-07", Action: audit.ActionRevoked}},
		{"two filters, none match (automation, revoked)", audit.Query{Actor: BenchAutomation, Action: audit.ActionRevoked}},
	}
	times := make([][]time.Duration, len(qs))
	for i := range n {
		for j := range qs {
			k := (i + j) % len(qs)
			q := qs[k].q
			q.TenantID, q.Limit = tenant, 50
			start := time.Now()
			if _, _, err := e.Audit.Query(ctx, q); err != nil {
				return nil, fmt.Errorf("audit %s: %w", qs[k].name, err)
			}
			times[k] = append(times[k], time.Since(start))
		}
	}
	floor := Median(times[0])
	var out []Result
	for k := 1; k < len(qs); k++ {
		m := Median(times[k])
		out = append(out, Result{Name: "audit page, " + qs[k].name, Figure: Ms(m), Floor: Ms(floor) + " unfiltered",
			Ratio: ratio(m, floor), Target: "≤ 2.00", Pass: ratio(m, floor) <= 2})
	}
	return out, nil
}
