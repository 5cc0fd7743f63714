package authorizer_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
)

// benchLoggers are the two ways the benchmarks run: with the per-request log
// line formatted as in production (JSON, discarded), and with logging off.
var benchLoggers = []struct {
	name string
	log  *slog.Logger
}{
	{"Logged", slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))},
	{"Quiet", slog.New(slog.DiscardHandler)},
}

// hmacFloor is the least any verification must do: one HMAC-SHA256 of a
// secret under a 32-byte pepper and a constant-time compare.
func hmacFloor(n int, pepper, secret, want []byte) time.Duration {
	start := time.Now()
	for i := 0; i < n; i++ {
		m := hmac.New(sha256.New, pepper)
		m.Write(secret)
		if hmac.Equal(m.Sum(nil), want) {
			panic("unexpected match")
		}
	}
	return time.Since(start)
}

// BenchmarkCachedHotPath measures a call whose key is in the in-memory cache
// (parse, HMAC against the current secret, allow-list, policy, context) and
// the HMAC-SHA256 floor, in interleaved chunks so that load on the machine
// weighs on both alike. hot-ns/op and floor-ns/op are each one's time,
// x-floor their ratio (target ≤ 10), hot-allocs/op the hot path's
// allocations; ns/op is the two together.
func BenchmarkCachedHotPath(b *testing.B) {
	s := newStack(b, authorizer.Config{})
	iss := s.issue(b, apikey.CreateInput{Scopes: []string{"keys:read", "recordings:read"}, AllowList: &apikey.AllowList{IPs: []string{"203.0.113.0/24"}}})
	req := request(bearer(iss.Token), "GET", "/recordings/rec-1")
	pepper := make([]byte, 32)
	want := make([]byte, 32)
	_, _ = rand.Read(pepper)
	for _, l := range benchLoggers {
		b.Run(l.name, func(b *testing.B) {
			a := authorizer.New(s.raw, s.hasher, authorizer.Config{KeyCacheTTL: time.Minute, RouteScopes: mustRouteScopes(b)}, authorizer.WithLogger(l.log))
			ctx := context.Background()
			call := func() {
				resp, err := a.Handle(ctx, req)
				if err != nil || resp.PrincipalID != iss.ID {
					b.Fatal(err)
				}
			}
			call() // fills the cache and the pepper
			allocs := testing.AllocsPerRun(100, call)
			var hot, floor time.Duration
			const chunk = 64
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(chunk, b.N-done)
				t := time.Now()
				for i := 0; i < n; i++ {
					call()
				}
				hot += time.Since(t)
				floor += hmacFloor(n, pepper, []byte(iss.Secret), want)
				done += n
			}
			b.StopTimer()
			b.ReportMetric(float64(hot.Nanoseconds())/float64(b.N), "hot-ns/op")
			b.ReportMetric(float64(floor.Nanoseconds())/float64(b.N), "floor-ns/op")
			b.ReportMetric(float64(hot)/float64(floor), "x-floor")
			b.ReportMetric(allocs, "hot-allocs/op")
		})
	}
}

// BenchmarkUncachedPath measures a call with the cache off (one consistent
// BatchGetItem of the key item and its copy of the suspended-tenants set,
// HMAC, allow-list, policy) against DynamoDB Local, interleaved with a bare
// consistent BatchGetItem of the same two items and a bare consistent GetItem
// of the key item alone, with the same client. x-batchget is the ratio of
// the authorizer's median to the bare BatchGetItem's (target ≤ 1.2);
// x-getitem to the bare GetItem's, so it includes what reading the tenant's
// suspension with the key costs. ns/op counts all three calls.
func BenchmarkUncachedPath(b *testing.B) {
	s := newStack(b, authorizer.Config{})
	iss := s.issue(b, apikey.CreateInput{Scopes: []string{"keys:read", "recordings:read"}})
	req := request(bearer(iss.Token), "GET", "/recordings/rec-1")
	// The key item's primary key, as pkg/dynamostore lays it out.
	get := &dynamodb.GetItemInput{
		TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "KEY#" + iss.ID},
			"sk": &types.AttributeValueMemberS{Value: "KEY"},
		},
	}
	// A suspended tenant, so the set's copies exist and are read as in production.
	set := map[string]types.AttributeValue{"tenants": &types.AttributeValueMemberSS{Value: []string{"suspended-elsewhere"}}}
	batchKeys := []map[string]types.AttributeValue{get.Key}
	for shard := range 16 {
		k := map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("SUSPENDED#%02d", shard)},
			"sk": &types.AttributeValueMemberS{Value: "SUSPENDED"},
		}
		item := maps.Clone(set)
		maps.Copy(item, k)
		if _, err := s.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
			b.Fatal(err)
		}
		if shard == 7 {
			batchKeys = append(batchKeys, k)
		}
	}
	batch := &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		s.table: {Keys: batchKeys, ConsistentRead: aws.Bool(true)},
	}}
	for _, l := range benchLoggers {
		b.Run(l.name, func(b *testing.B) {
			a := authorizer.New(s.raw, s.hasher, authorizer.Config{KeyCacheTTL: 0, RouteScopes: mustRouteScopes(b)}, authorizer.WithLogger(l.log))
			ctx := context.Background()
			if _, err := a.Handle(ctx, req); err != nil { // loads the pepper, records lastUsedAt
				b.Fatal(err)
			}
			authz := make([]time.Duration, 0, b.N)
			bare := make([]time.Duration, 0, b.N)
			bareBatch := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t := time.Now()
				if _, err := a.Handle(ctx, req); err != nil {
					b.Fatal(err)
				}
				authz = append(authz, time.Since(t))
				t = time.Now()
				out, err := s.db.GetItem(ctx, get)
				if err != nil || out.Item == nil {
					b.Fatal(err)
				}
				bare = append(bare, time.Since(t))
				t = time.Now()
				res, err := s.db.BatchGetItem(ctx, batch)
				if err != nil || len(res.Responses[s.table]) != 2 {
					b.Fatal(err)
				}
				bareBatch = append(bareBatch, time.Since(t))
			}
			b.StopTimer()
			ma, mb, mbb := median(authz), median(bare), median(bareBatch)
			b.ReportMetric(float64(ma.Microseconds()), "authorizer-median-µs")
			b.ReportMetric(float64(mb.Microseconds()), "getitem-median-µs")
			b.ReportMetric(float64(mbb.Microseconds()), "batchget-median-µs")
			b.ReportMetric(float64(ma)/float64(mb), "x-getitem")
			b.ReportMetric(float64(ma)/float64(mbb), "x-batchget")
		})
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
