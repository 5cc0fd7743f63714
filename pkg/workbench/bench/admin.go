package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/unicoderules"
)

// recorder is a DynamoDB client that keeps the last TransactWriteItems
// input it passed on: the items of a create, to replay bare.
type recorder struct {
	*dynamodb.Client
	mu   sync.Mutex
	last *dynamodb.TransactWriteItemsInput
}

func (r *recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	r.mu.Lock()
	r.last = in
	r.mu.Unlock()
	return r.Client.TransactWriteItems(ctx, in, opts...)
}

// template is a created key's items with what makes them that key's: its
// ID, name and name key, replaced to make another key's items.
type template struct {
	in             *dynamodb.TransactWriteItemsInput
	id, name, nkey string
}

// letters are name characters every name normalisation step leaves alone
// (no case, width or confusable mapping), so a name made of them appears
// verbatim in its name key.
const letters = "abcefghjkpqstuxyz"

func randomName(prefix string, r *rand.Rand) string {
	b := []byte(prefix)
	for range 12 {
		b = append(b, letters[r.IntN(len(letters))])
	}
	return string(b)
}

// capture creates one key through svc (over rec) and returns its items.
func capture(ctx context.Context, svc *apikey.Service, rec *recorder, c apikey.Caller, name string) (*template, error) {
	k, err := svc.Create(ctx, c, apikey.CreateInput{Name: name, Scopes: []string{"keys:read"}})
	if err != nil {
		return nil, err
	}
	rec.mu.Lock()
	in := rec.last
	rec.mu.Unlock()
	return &template{in: in, id: k.ID, name: k.Name, nkey: unicoderules.NameKey(k.Name)}, nil
}

// items returns the template's Put items for another key.
func (t *template) items(id, name string) []map[string]types.AttributeValue {
	rep := strings.NewReplacer(t.id, id, t.name, name, t.nkey, unicoderules.NameKey(name))
	var out []map[string]types.AttributeValue
	for _, ti := range t.in.TransactItems {
		if ti.Put != nil {
			out = append(out, replaceAll(ti.Put.Item, rep))
		}
	}
	return out
}

// input returns the template's TransactWriteItems input for another key:
// every item (the key item and its name claim, and the checks of the caller
// and the policy) or, without checks, its writes alone.
func (t *template) input(id, name string, checks bool) *dynamodb.TransactWriteItemsInput {
	rep := strings.NewReplacer(t.id, id, t.name, name, t.nkey, unicoderules.NameKey(name))
	in := &dynamodb.TransactWriteItemsInput{}
	for _, ti := range t.in.TransactItems {
		switch {
		case ti.Put != nil:
			p := *ti.Put
			p.Item = replaceAll(p.Item, rep)
			p.ExpressionAttributeValues = replaceAll(p.ExpressionAttributeValues, rep)
			in.TransactItems = append(in.TransactItems, types.TransactWriteItem{Put: &p})
		case checks:
			in.TransactItems = append(in.TransactItems, ti)
		}
	}
	return in
}

func replaceAll(m map[string]types.AttributeValue, rep *strings.Replacer) map[string]types.AttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = replace(v, rep)
	}
	return out
}

func replace(v types.AttributeValue, rep *strings.Replacer) types.AttributeValue {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: rep.Replace(x.Value)}
	case *types.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: replaceAll(x.Value, rep)}
	case *types.AttributeValueMemberL:
		l := make([]types.AttributeValue, len(x.Value))
		for i := range x.Value {
			l[i] = replace(x.Value[i], rep)
		}
		return &types.AttributeValueMemberL{Value: l}
	}
	return v
}

// newID is a fresh key ID.
func newID() string { return apikey.KeyIDPrefix + ulid.Make().String() }

// Create times creating a key through the service, wired as the create
// function wires it (with tenant policies), against a bare TransactWriteItems
// of the same items (the service's own input, with another ID and name), and
// reports beside it the bare writes alone (key item and name claim, without
// the checks of the caller and the policy): n rotating runs of each.
func (e *Env) Create(ctx context.Context, n int) ([]Result, error) {
	rec := &recorder{Client: e.DB}
	store := dynamostore.New(rec, e.Settings.Table)
	svc := apikey.NewService(store, e.Hasher, unicoderules.Rules{}, e.Settings.Service, apikey.WithPolicies(store))
	r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	t, err := capture(ctx, svc, rec, e.Admin, randomName("bench ", r))
	if err != nil {
		return nil, err
	}
	runs := make([][]time.Duration, 3) // the service, the same items, the writes alone
	for i := range n {
		for j := range 3 {
			which := (i + j) % 3
			start := time.Now()
			if which == 0 {
				if _, err := svc.Create(ctx, e.Admin, apikey.CreateInput{Name: randomName("bench ", r), Scopes: []string{"keys:read"}}); err != nil {
					return nil, err
				}
			} else if _, err := e.DB.TransactWriteItems(ctx, t.input(newID(), randomName("bench ", r), which == 1)); err != nil {
				return nil, fmt.Errorf("bare TransactWriteItems: %w", err)
			}
			runs[which] = append(runs[which], time.Since(start))
		}
	}
	s, same, writes := Median(runs[0]), Median(runs[1]), Median(runs[2])
	return []Result{
		{Name: "create (service vs bare TransactWriteItems of its items)", Figure: Ms(s), Floor: Ms(same),
			Ratio: ratio(s, same), Target: "≤ 1.30", Pass: ratio(s, same) <= 1.3},
		{Name: "create vs its writes alone (no checks)", Figure: Ms(s), Floor: Ms(writes), Ratio: ratio(s, writes)},
	}, nil
}

// Tenant bootstraps tenant and returns its default key as a caller.
func (e *Env) Tenant(ctx context.Context, tenant string) (apikey.Caller, error) {
	k, err := e.Service.Bootstrap(ctx, tenant, "system:bench")
	if err != nil {
		return apikey.Caller{}, err
	}
	return apikey.Caller{TenantID: tenant, KeyID: k.ID, Scopes: k.Scopes}, nil
}

// SeedKeys writes n keys into c's tenant: the key item of one key created
// through the service, copied with other IDs and names, written with
// BatchWriteItem by a few writers. Their name claims (which only creates
// and renames read) are left out, which halves the writes.
func (e *Env) SeedKeys(ctx context.Context, c apikey.Caller, n int) error {
	rec := &recorder{Client: e.DB}
	svc := apikey.NewService(dynamostore.New(rec, e.Settings.Table), e.Hasher, unicoderules.Rules{}, e.Settings.Service)
	r := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	t, err := capture(ctx, svc, rec, c, randomName("bench ", r))
	if err != nil {
		return err
	}
	items := make(chan map[string]types.AttributeValue, 1024)
	go func() {
		defer close(items)
		for range n - 1 {
			for _, it := range t.items(newID(), randomName("bench ", r)) {
				if _, listed := it["gsi1pk"]; !listed {
					continue // the name claim: uniqueness only, not read by lists
				}
				select {
				case items <- it:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return BatchWrite(ctx, e.DB, e.Settings.Table, items, 8)
}

// BatchWrite writes items to table with BatchWriteItem (25 at a time) from
// writers goroutines, retrying unprocessed items.
func BatchWrite(ctx context.Context, db *dynamodb.Client, table string, items <-chan map[string]types.AttributeValue, writers int) error {
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []types.WriteRequest
			flush := func() error {
				req := map[string][]types.WriteRequest{table: batch}
				for len(req) > 0 {
					out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
					if err != nil {
						return err
					}
					req = out.UnprocessedItems
				}
				batch = batch[:0]
				return nil
			}
			for it := range items {
				batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
				if len(batch) == 25 {
					if err := flush(); err != nil {
						errs <- err
						return
					}
				}
			}
			if len(batch) > 0 {
				if err := flush(); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// ListPages times first pages of limit 50 (with q as the name prefix, or
// newest first when empty) in the large and the small tenant, n alternating
// runs each.
func (e *Env) ListPages(ctx context.Context, big, small apikey.Caller, q string, n int) (time.Duration, time.Duration, error) {
	var bt, st []time.Duration
	for i := range n {
		for j := range 2 {
			c, into := big, &bt
			if (i+j)%2 == 1 {
				c, into = small, &st
			}
			start := time.Now()
			p, err := e.Service.List(ctx, c, apikey.ListInput{Limit: 50, Q: q})
			if err != nil {
				return 0, 0, err
			}
			if len(p.Items) == 0 {
				return 0, 0, fmt.Errorf("list of %s: empty page", c.TenantID)
			}
			*into = append(*into, time.Since(start))
		}
	}
	return Median(bt), Median(st), nil
}
