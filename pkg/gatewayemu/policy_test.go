package gatewayemu

import "testing"

func TestWildcardMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything/at/all", true},
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/keys", "arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/keys", true},
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/keys/*", "arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/keys/key_1", true},
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/keys/*", "arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/keys", false},
		{"arn:aws:execute-api:us-east-1:1:api/prod/*/v1/keys/*", "arn:aws:execute-api:us-east-1:1:api/prod/POST/v1/keys/k/rotate", true},
		{"arn:aws:execute-api:us-east-1:1:api/*/GET/*", "arn:aws:execute-api:us-east-1:1:api/prod/POST/v1", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*/GET/*", "x/GET/y", true},
		{"get", "GET", false},
	} {
		if got := wildcardMatch(c.pattern, c.s); got != c.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestPolicyEvaluation(t *testing.T) {
	arn := "arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/keys"
	for name, c := range map[string]struct {
		doc                 string
		allowed, explicitly bool
	}{
		"AllowMatches":        {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":["x","` + arn + `"]}]}}`, true, false},
		"ActionWildcard":      {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:*","Resource":"*"}]}}`, true, false},
		"SingleStatement":     {`{"principalId":"p","policyDocument":{"Statement":{"Effect":"Allow","Action":["execute-api:Invoke"],"Resource":"*"}}}`, true, false},
		"ExplicitDenyWins":    {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"` + arn + `"}]}}`, false, true},
		"NothingMatches":      {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + arn + `/*"}]}}`, false, false},
		"OtherServiceActions": {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}}`, false, false},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := parseAuthorizerOutput([]byte(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			if allowed, explicit := r.allows(arn); allowed != c.allowed || explicit != c.explicitly {
				t.Errorf("allows = %v, %v; want %v, %v", allowed, explicit, c.allowed, c.explicitly)
			}
		})
	}
}

func TestAuthorizerOutputRejected(t *testing.T) {
	for name, doc := range map[string]string{
		"NotJSON":       `nope`,
		"NoPrincipal":   `{"policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`,
		"NoPolicy":      `{"principalId":"p"}`,
		"BadEffect":     `{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}}`,
		"ObjectContext": `{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"context":{"a":[1]}}`,
	} {
		if _, err := parseAuthorizerOutput([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
