package keywardtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/unicoderules"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
)

// Fault is what Faults does to a call a Rule matches.
type Fault int

// Faults a Rule can inject.
const (
	// Refuse fails the call before it is sent (a refused connection).
	Refuse Fault = iota + 1
	// Drop sends the call, lets the server process it and read its answer,
	// then loses the answer (a reset connection): the SDK retries a call that
	// has already taken effect.
	Drop
	// Delay waits Rule.Delay (or until the call's context ends), then sends it.
	Delay
	// Throttle answers 400 ThrottlingException without sending the call.
	Throttle
	// ProvisionedThroughput answers 400 ProvisionedThroughputExceededException
	// without sending the call.
	ProvisionedThroughput
	// TransactionConflict answers 400 TransactionCanceledException whose every
	// cancellation reason is TransactionConflict (another transaction holds
	// an item), without sending the call.
	TransactionConflict
	// ServerError answers 500 InternalServerError without sending the call.
	ServerError
)

func (f Fault) String() string {
	switch f {
	case Refuse:
		return "refuse"
	case Drop:
		return "drop"
	case Delay:
		return "delay"
	case Throttle:
		return "throttle"
	case ProvisionedThroughput:
		return "provisioned-throughput"
	case TransactionConflict:
		return "transaction-conflict"
	case ServerError:
		return "server-error"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Rule arms a fault for some calls of one operation.
type Rule struct {
	// Op is the operation, the X-Amz-Target suffix: "PutItem",
	// "TransactWriteItems", "GetItem", "BatchGetItem", "Decrypt", ...
	Op string
	// Body, when set, limits the rule to calls whose JSON body contains it
	// (a key ID, say).
	Body string
	// Skip is how many matching calls pass untouched before the fault applies.
	Skip int
	// Times is how many matching calls (after Skip) get the fault; 0 means
	// every one.
	Times int
	Fault Fault
	// Delay is how long a Delay fault waits.
	Delay time.Duration

	matched, hit int
}

// Faults is an http.RoundTripper for the real SDK clients of a test: every
// call goes to the real server (DynamoDB Local, the local KMS) except where
// an armed Rule injects a fault. Calls are told apart by their X-Amz-Target
// header, and each attempt the SDK makes is a call of its own, so a rule
// with Times 1 lets the SDK's retry through. It is safe for concurrent use.
type Faults struct {
	next http.RoundTripper

	mu           sync.Mutex
	rules        []*Rule
	calls        map[string]int
	forgetTokens bool
}

// NewFaults returns a Faults over a transport of its own, closed when tb
// finishes.
func NewFaults(tb testing.TB) *Faults {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(tr.CloseIdleConnections)
	return &Faults{next: tr, calls: map[string]int{}}
}

// Arm adds r; the returned rule's Hits says how often it struck.
func (f *Faults) Arm(r Rule) *Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	rr := r
	f.rules = append(f.rules, &rr)
	return &rr
}

// Hits is how many calls r has faulted so far.
func (f *Faults) Hits(r *Rule) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return r.hit
}

// Clear disarms every rule and stops forgetting tokens.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
	f.forgetTokens = false
}

// Calls is how many calls of op have been made so far (faulted or not).
func (f *Faults) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// ForgetTokens makes every TransactWriteItems attempt carry a fresh
// ClientRequestToken. DynamoDB answers a retry of a committed transaction
// with success for as long as it remembers the SDK's token (10 minutes);
// this models a retry it no longer recognises, which then fails the
// transaction's own conditions.
func (f *Faults) ForgetTokens(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgetTokens = on
}

// DynamoDB points a DynamoDB client at f, with FastRetries.
func (f *Faults) DynamoDB(o *dynamodb.Options) {
	o.HTTPClient = &http.Client{Transport: f}
	o.Retryer = FastRetries()
}

// KMS points a KMS client of the functions' (package kmsclient) at f, with
// FastRetries.
func (f *Faults) KMS(o *kmsclient.Options) {
	o.HTTPClient = &http.Client{Transport: f}
	o.Retryer = FastRetries()
}

// FastRetries is the SDK's standard retryer, deciding what to retry as in
// production (3 attempts), without its backoff delay or retry quota, so a
// test's retries are immediate and do not depend on earlier tests.
func FastRetries() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.RateLimiter = ratelimit.None
	})
}

// RoundTrip passes req on, or injects the fault of the first rule it matches.
func (f *Faults) RoundTrip(req *http.Request) (*http.Response, error) {
	target := req.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
	}

	f.mu.Lock()
	f.calls[op]++
	var rule *Rule
	for _, r := range f.rules {
		if r.Op != op || r.Body != "" && !bytes.Contains(body, []byte(r.Body)) {
			continue
		}
		r.matched++
		if r.matched > r.Skip && (r.Times == 0 || r.hit < r.Times) {
			r.hit++
			rule = r
			break
		}
	}
	if op == "TransactWriteItems" && f.forgetTokens {
		body = freshToken(body)
	}
	f.mu.Unlock()

	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	if rule == nil {
		return f.next.RoundTrip(out)
	}
	switch rule.Fault {
	case Refuse:
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	case Drop:
		resp, err := f.next.RoundTrip(out)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	case Delay:
		t := time.NewTimer(rule.Delay)
		defer t.Stop()
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-t.C:
		}
		return f.next.RoundTrip(out)
	case Throttle:
		return errorResponse(req, 400, "ThrottlingException", `"message":"Rate of requests exceeds the allowed throughput."`), nil
	case ProvisionedThroughput:
		return errorResponse(req, 400, "ProvisionedThroughputExceededException", `"message":"The level of configured provisioned throughput for the table was exceeded."`), nil
	case TransactionConflict:
		var in struct{ TransactItems []json.RawMessage }
		_ = json.Unmarshal(body, &in)
		reasons := make([]string, max(len(in.TransactItems), 1))
		for i := range reasons {
			reasons[i] = `{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}`
		}
		return errorResponse(req, 400, "TransactionCanceledException",
			`"Message":"Transaction cancelled, please refer cancellation reasons for specific reasons","CancellationReasons":[`+strings.Join(reasons, ",")+`]`), nil
	case ServerError:
		return errorResponse(req, 500, "InternalServerError", `"message":"Internal server error"`), nil
	}
	return nil, fmt.Errorf("keywardtest: unknown fault %v", rule.Fault)
}

// errorResponse is an AWS JSON-protocol error answer to req.
func errorResponse(req *http.Request, status int, code, fields string) *http.Response {
	body := `{"__type":"` + code + `",` + fields + `}`
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			"Content-Type":     {req.Header.Get("Content-Type")},
			"X-Amzn-Requestid": {"fault-" + rand.Text()},
		},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

// freshToken gives a TransactWriteItems body a new ClientRequestToken.
func freshToken(body []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	tok, _ := json.Marshal(rand.Text())
	m["ClientRequestToken"] = tok
	b, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return b
}

// WithFaults returns a stack over the same tables, KMS key and pepper whose
// DynamoDB client and functions' KMS client (KMS.FunctionClient; KMS.Client
// is s's, fault-free) go through f (with FastRetries): its own store,
// hasher (the pepper loaded before it returns, so later calls reach KMS
// only when a test makes them) and service, on s's clock and config.
func (s *Stack) WithFaults(tb testing.TB, f *Faults) *Stack {
	tb.Helper()
	db := ddblocal.Client(s.Endpoint, f.DynamoDB)
	store := dynamostore.New(db, s.Tables["KeysTable"])
	kmsClient := FunctionKMS(s.KMS.URL, f.KMS)
	hasher := kmspepper.New(kmsClient, store, s.KMS.KeyARN)
	if _, err := hasher.Hash(context.Background(), []byte("load the pepper")); err != nil {
		tb.Fatalf("keywardtest: load the pepper through the faulty clients: %v", err)
	}
	opts := []apikey.Option{apikey.WithPolicies(store)}
	if s.Clock != nil {
		opts = append(opts, apikey.WithClock(s.Clock.Now))
	}
	kmsCopy := &LocalKMS{Client: s.KMS.Client, FunctionClient: kmsClient, KeyARN: s.KMS.KeyARN, URL: s.KMS.URL, stop: s.KMS.Stop}
	return &Stack{
		Tables: s.Tables, Endpoint: s.Endpoint, DB: db, KMS: kmsCopy, Store: store, Hasher: hasher,
		Service: apikey.NewService(store, hasher, unicoderules.Rules{}, s.Service.Config(), opts...),
		Clock:   s.Clock,
	}
}

// Diff is what changed in a table since a Mark, as item keys ("<pk>|<sk>"), sorted.
type Diff struct {
	Added, Removed, Changed []string
}

// Empty reports whether nothing changed.
func (d Diff) Empty() bool { return len(d.Added)+len(d.Removed)+len(d.Changed) == 0 }

func (d Diff) String() string {
	return fmt.Sprintf("added %v, removed %v, changed %v", d.Added, d.Removed, d.Changed)
}
