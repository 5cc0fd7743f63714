package authorizer_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// TestFailsClosedUnderInjectedFaults: with the real SDK clients against
// DynamoDB Local and the local KMS, a key read or a pepper load that fails
// (refused, throttled, its answer lost, too slow, a server error) allows
// nothing: the answer is an error other than Unauthorized (API Gateway's
// 500), with no policy, logged once at ERROR. A fault the SDK's retry gets
// past still allows.
func TestFailsClosedUnderInjectedFaults(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"keys:read"}})
	f := keywardtest.NewFaults(t)
	faulty := s.keys.WithFaults(t, f)

	cases := []struct {
		name  string
		cold  bool // a fresh container: the pepper is loaded from KMS on first use
		rule  keywardtest.Rule
		allow bool
	}{
		{"KeyReadRefused", false, keywardtest.Rule{Op: "BatchGetItem", Fault: keywardtest.Refuse}, false},
		{"KeyReadThrottled", false, keywardtest.Rule{Op: "BatchGetItem", Fault: keywardtest.Throttle}, false},
		{"KeyReadAnswerLost", false, keywardtest.Rule{Op: "BatchGetItem", Fault: keywardtest.Drop}, false},
		{"KeyReadTooSlow", false, keywardtest.Rule{Op: "BatchGetItem", Fault: keywardtest.Delay, Delay: time.Minute}, false},
		{"KeyReadServerError", false, keywardtest.Rule{Op: "BatchGetItem", Fault: keywardtest.ServerError}, false},
		{"KeyReadThrottledOnce", false, keywardtest.Rule{Op: "BatchGetItem", Times: 1, Fault: keywardtest.Throttle}, true},
		{"PepperDecryptRefused", true, keywardtest.Rule{Op: "Decrypt", Fault: keywardtest.Refuse}, false},
		{"PepperDecryptThrottled", true, keywardtest.Rule{Op: "Decrypt", Fault: keywardtest.Throttle}, false},
		{"PepperListThrottled", true, keywardtest.Rule{Op: "Query", Fault: keywardtest.Throttle}, false},
		{"PepperDecryptThrottledOnce", true, keywardtest.Rule{Op: "Decrypt", Times: 1, Fault: keywardtest.Throttle}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hasher := apikey.Hasher(s.hasher)
			if c.cold {
				hasher = kmspepper.New(keywardtest.FunctionKMS(s.kmsURL, f.KMS), faulty.Store, s.keyARN)
			}
			a := authorizer.New(faulty.Store, hasher, defaultConfig(t), authorizer.WithClock(s.clock.Now), authorizer.WithLogger(s.log))
			f.Arm(c.rule)
			defer f.Clear()
			before := len(s.logs.lines(t))
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			resp, err := a.Handle(ctx, request(bearer(iss.Token), "GET", "/v1/keys"))
			r := result{resp: resp, err: err}
			if c.allow {
				if r.kind() != "allow" {
					t.Fatalf("kind = %s (%v), want allow after the SDK's retry", r.kind(), r.err)
				}
				return
			}
			if r.kind() != "500" {
				t.Fatalf("kind = %s (resp %+v, err %v), want an error that is not Unauthorized", r.kind(), r.resp, r.err)
			}
			if len(r.resp.PolicyDocument.Statement) != 0 || r.resp.PrincipalID != "" {
				t.Errorf("a failed decision returned a policy: %+v", r.resp)
			}
			lines := s.logs.lines(t)[before:]
			if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["decision"] != "error" {
				t.Errorf("log lines = %v, want one ERROR line", lines)
			}
		})
	}
}
