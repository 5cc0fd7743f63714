package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/unicoderules"
)

// MemoryPlan is how many authorizer invocations of each kind run before
// the RSS readings.
type MemoryPlan struct {
	Cached, Uncached, Unknown int
	// CacheBound is the authorizer's key cache bound (entries): the RSS is
	// read when as many unknown IDs have been tried as would fill it (the
	// cache also drops expired entries, so at the template's TTL it holds
	// fewer), and flat means no growth after that.
	CacheBound int
	// KeyCacheTTL is the authorizer's KEY_CACHE_TTL for the run (0: the
	// template's default).
	KeyCacheTTL time.Duration
	Limit       int64 // RSS target in bytes
}

// SeedSharedSecret writes n keys into c's tenant that all take the same
// secret (copies of one created key's items) and returns their tokens.
func (e *Env) SeedSharedSecret(ctx context.Context, c apikey.Caller, n int) ([]string, error) {
	rec := &recorder{Client: e.DB}
	svc := apikey.NewService(dynamostore.New(rec, e.Settings.Table), e.Hasher, unicoderules.Rules{}, e.Settings.Service)
	r := mrand.New(mrand.NewPCG(5, uint64(time.Now().UnixNano())))
	k, err := svc.Create(ctx, c, apikey.CreateInput{Name: randomName("mem ", r), Scopes: []string{"keys:read"}})
	if err != nil {
		return nil, err
	}
	rec.mu.Lock()
	t := &template{in: rec.last, id: k.ID, name: k.Name, nkey: unicoderules.NameKey(k.Name)}
	rec.mu.Unlock()
	tokens := []string{k.Token}
	items := make(chan map[string]types.AttributeValue, 1024)
	go func() {
		defer close(items)
		for range n - 1 {
			id := newID()
			tokens = append(tokens, apikey.FormatToken(e.Settings.Service.TokenPrefix, id, k.Secret))
			for _, it := range t.items(id, randomName("mem ", r)) {
				items <- it
			}
		}
	}()
	if err := BatchWrite(ctx, e.DB, e.Settings.Table, items, 8); err != nil {
		return nil, err
	}
	return tokens, nil
}

// unknownToken is a well-formed token (right shape and checksum) for a
// random key ID that does not exist.
func unknownToken(prefix string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, apikey.SecretLen)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	return apikey.FormatToken(prefix, apikey.KeyIDPrefix+ulid.Make().String(), string(b))
}

// Memory runs the authorizer binary through plan.Cached invocations of one
// key, plan.Uncached of distinct keys and plan.Unknown of random unknown
// key IDs, reading its RSS after each phase (and once as many unknown IDs
// as the key cache's bound holds have been tried: flat means no growth after
// that), beside the floor's RSS after as many invocations.
func (e *Env) Memory(ctx context.Context, authorizerBin, floorBin string, tokens []string, plan MemoryPlan, progress func(string)) ([]Result, error) {
	var extra []string
	if plan.KeyCacheTTL > 0 {
		extra = append(extra, "KEY_CACHE_TTL="+plan.KeyCacheTTL.String())
	}
	p, err := StartProc(authorizerBin, e.FunctionEnv(extra...))
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	invoke := func(token string, known bool) error {
		a, err := p.Invoke(ctx, AuthorizerEvent(token))
		if err != nil {
			return err
		}
		// An unknown key is a 401: the error "Unauthorized" (API Gateway's rule).
		if a.Failed != !known || (!known && !strings.Contains(string(a.Payload), `"Unauthorized"`)) {
			return fmt.Errorf("authorizer answer: %.200s", a.Payload)
		}
		return nil
	}
	for i := range plan.Cached {
		if err := invoke(tokens[0], true); err != nil {
			return nil, fmt.Errorf("cached invocation %d: %w", i, err)
		}
	}
	for i := range plan.Uncached {
		if err := invoke(tokens[1+i%(len(tokens)-1)], true); err != nil {
			return nil, fmt.Errorf("uncached invocation %d: %w", i, err)
		}
	}
	afterKnown, err := p.RSS()
	if err != nil {
		return nil, err
	}
	progress(fmt.Sprintf("RSS after %d cached and %d uncached: %s", plan.Cached, plan.Uncached, MiB(afterKnown)))
	prefix := e.Settings.Service.TokenPrefix
	full := min(max(plan.CacheBound-plan.Uncached-1, 0), plan.Unknown/2)
	var half int64 // the reading after as many unknown IDs as the cache bound holds
	for i := range plan.Unknown {
		if i == full {
			if half, err = p.RSS(); err != nil {
				return nil, err
			}
			progress(fmt.Sprintf("RSS after %d unknown IDs: %s", i, MiB(half)))
		}
		if err := invoke(unknownToken(prefix), false); err != nil {
			return nil, fmt.Errorf("unknown-ID invocation %d: %w", i, err)
		}
	}
	final, err := p.RSS()
	if err != nil {
		return nil, err
	}
	floor, err := floorRSS(ctx, floorBin, 1000)
	if err != nil {
		return nil, err
	}
	flat := final <= half+half/10
	return []Result{
		{Name: fmt.Sprintf("authorizer RSS after %dk cached + %dk uncached", plan.Cached/1000, plan.Uncached/1000), Figure: MiB(afterKnown),
			Floor: MiB(floor) + " hello", Ratio: float64(afterKnown) / float64(floor), Target: "≤ " + MiB(plan.Limit), Pass: afterKnown <= plan.Limit},
		{Name: fmt.Sprintf("authorizer RSS after +%dk unknown IDs (after %dk: %s)", plan.Unknown/1000, full/1000, MiB(half)), Figure: MiB(final),
			Floor: MiB(floor) + " hello", Ratio: float64(final) / float64(floor), Target: "both ≤ " + MiB(plan.Limit) + ", flat (≤ +10%)",
			Pass: final <= plan.Limit && half <= plan.Limit && flat},
	}, nil
}

func floorRSS(ctx context.Context, bin string, n int) (int64, error) {
	p, err := StartProc(bin, nil)
	if err != nil {
		return 0, err
	}
	defer p.Stop()
	for range n {
		if _, err := p.Invoke(ctx, []byte(`{}`)); err != nil {
			return 0, err
		}
	}
	return p.RSS()
}
