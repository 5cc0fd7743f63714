package gatewayemu

import (
	"strings"
	"testing"
)

// TestWildcardMatch is IAM's resource matching, as API Gateway applies it
// to an authorizer's policy.
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
		// * spans /: a route's pattern covers every route nested below it.
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings/*", "arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings/r1", true},
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings/*", "arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings/r1/audio", true},
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/tenants/*", "arn:aws:execute-api:us-east-1:1:api/prod/GET/tenants/t1/billing/inv-1", true},
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings/*/audio", "arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings/r1/audio", true},
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings/*/audio", "arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings/a/b/audio", true},
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings/*/audio", "arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings/r1/audio/x", false},
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings/*", "arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings", false},
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings*", "arn:aws:execute-api:us-east-1:1:api/prod/GET/recordings", true},
		// * matches nothing, several *s, and a literal * or ? in the value.
		{"a*b", "ab", true},
		{"a*b*c", "a/x/b/y/c", true},
		{"a*b*c", "a/x/c/y/b", false},
		{"a*", "a*b", true},
		{"a?", "a?", true},
		{"**", "", true},
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		// ? is exactly one character, / included, a multi-byte one too.
		{"GET/r?", "GET/r/", true},
		{"GET/r?", "GET/r", false},
		{"GET/r?", "GET/rab", false},
		{"GET/caf?", "GET/café", true},
		{"GET/?/x", "GET/é/x", true},
		// Resources are case-sensitive.
		{"arn:aws:execute-api:us-east-1:1:api/prod/GET/Keys", "arn:aws:execute-api:us-east-1:1:api/prod/GET/keys", false},
	} {
		if got := wildcardMatch(c.pattern, c.s); got != c.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// TestPolicyEvaluation: an explicit Deny beats any Allow, an Allow lets the
// request through, and no matching Allow is an implicit deny (403).
func TestPolicyEvaluation(t *testing.T) {
	arn := "arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/keys"
	for name, c := range map[string]struct {
		doc                 string
		allowed, explicitly bool
	}{
		"AllowMatches":                 {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":["x","` + arn + `"]}]}}`, true, false},
		"ActionWildcard":               {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:*","Resource":"*"}]}}`, true, false},
		"SingleStatement":              {`{"principalId":"p","policyDocument":{"Statement":{"Effect":"Allow","Action":["execute-api:Invoke"],"Resource":"*"}}}`, true, false},
		"ExplicitDenyWins":             {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"` + arn + `"}]}}`, false, true},
		"NothingMatches":               {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + arn + `/*"}]}}`, false, false},
		"OtherServiceActions":          {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}}`, false, false},
		"ActionCaseInsensitive":        {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"EXECUTE-API:invoke","Resource":"*"}]}}`, true, false},
		"ResourceCaseSensitive":        {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + strings.ToUpper(arn) + `"}]}}`, false, false},
		"ParentRouteAllowCoversNested": {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/*"}]}}`, true, false},
		"WildcardDenyBeatsExactAllow":  {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + arn + `"},{"Effect":"Deny","Action":"execute-api:*","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/*"}]}}`, false, true},
		"DenyListedFirstStillWins":     {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/keys?"},{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/GET/v?/keys"},{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}}`, false, true},
		"DenyOfAnotherRouteOnly":       {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/keys/*"},{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/GET/*"}]}}`, true, false},
		"AllowOfAnotherStage":          {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/dev/*"}]}}`, false, false},
		"QuestionMarkIsOneCharacter":   {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/key?"}]}}`, true, false},
		"OnlyDenyStatements":           {`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/POST/*"}]}}`, false, false},
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
