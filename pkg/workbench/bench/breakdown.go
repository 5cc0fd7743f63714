package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/kmspepper"
)

// Breakdown times, in this process and with fresh clients each run, the
// steps of the authorizer's cold path: reading the settings and building the
// clients, the pepper (ListPeppers Query, then KMS Decrypt on a new
// connection), the key's read (one BatchGetItem of the key and its tenant's
// suspension) on a new connection and on a warm one, the stage's record
// (PutItem, beside the key's read) and the lastUsedAt UpdateItem (after the
// answer is posted). Medians of n runs, reported without targets.
func (e *Env) Breakdown(ctx context.Context, keyID string, n int) ([]Result, error) {
	env := map[string]string{}
	for _, kv := range e.FunctionEnv() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	getenv := func(k string) string { return env[k] }
	steps := []string{"settings + clients", "pepper (Query + Decrypt)", "key read, new connection", "key read, warm connection",
		"stage PutItem (beside the key read)", "lastUsedAt UpdateItem (after the answer)"}
	stage := apikey.Stage{APIID: "benchapi", Name: "v1"}
	times := make([][]time.Duration, len(steps))
	for range n {
		t0 := time.Now()
		cfg, err := awsenv.AWSConfig(getenv)
		if err != nil {
			return nil, err
		}
		s, err := awsenv.ReadSettings(getenv)
		if err != nil {
			return nil, err
		}
		store := dynamostore.New(dynamodb.NewFromConfig(cfg), s.Table)
		hasher := kmspepper.New(kmsclient.NewFromConfig(cfg), dynamostore.New(dynamodb.NewFromConfig(cfg), s.Table), s.KMSKeyID)
		times[0] = append(times[0], time.Since(t0))
		lap := func(i int, f func() error) error {
			t := time.Now()
			if err := f(); err != nil {
				return fmt.Errorf("%s: %w", steps[i], err)
			}
			times[i] = append(times[i], time.Since(t))
			return nil
		}
		errs := []error{
			lap(1, func() error { _, err := hasher.MAC(ctx, "bench", nil); return err }),
			lap(2, func() error { _, err := store.GetKey(ctx, keyID); return err }),
			lap(3, func() error { _, err := store.GetKey(ctx, keyID); return err }),
			lap(4, func() error { return store.RecordStage(ctx, stage, time.Now()) }),
			lap(5, func() error { _, err := store.TouchLastUsed(ctx, keyID, time.Now(), 0); return err }),
		}
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
	}
	var out []Result
	for i, s := range steps {
		out = append(out, Result{Name: "authorizer cold path: " + s, Figure: Ms(Median(times[i])), Floor: "-"})
	}
	return out, nil
}
