package gatewayemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// authorizerOutput is what a Lambda authorizer returns.
type authorizerOutput struct {
	PrincipalID    *string         `json:"principalId"`
	PolicyDocument *policyDocument `json:"policyDocument"`
	Context        map[string]any  `json:"context"`
}

type policyDocument struct {
	Version   string          `json:"Version"`
	Statement json.RawMessage `json:"Statement"`
}

// policyStatement is one IAM statement; Action and Resource may each be a
// string or a list of strings.
type policyStatement struct {
	Effect   string    `json:"Effect"`
	Action   stringSet `json:"Action"`
	Resource stringSet `json:"Resource"`
}

type stringSet []string

func (s *stringSet) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be a string or a list of strings")
	}
	*s = many
	return nil
}

// authResult is a parsed authorizer output, as cached.
type authResult struct {
	principalID string
	statements  []policyStatement
	context     map[string]string // values rendered as API Gateway passes them
}

// parseAuthorizerOutput checks an authorizer's output the way API Gateway
// does: a principalId and a policy document with statements are required,
// and context values must be strings, numbers or booleans. Anything else is
// an authorizer configuration error.
func parseAuthorizerOutput(payload []byte) (*authResult, error) {
	var out authorizerOutput
	if err := json.Unmarshal(payload, &out); err != nil {
		return nil, fmt.Errorf("authorizer output is not a JSON object: %w", err)
	}
	if out.PrincipalID == nil {
		return nil, errors.New("authorizer output has no principalId")
	}
	if out.PolicyDocument == nil || len(out.PolicyDocument.Statement) == 0 {
		return nil, errors.New("authorizer output has no policyDocument.Statement")
	}
	var stmts []policyStatement
	if err := json.Unmarshal(out.PolicyDocument.Statement, &stmts); err != nil {
		var one policyStatement
		if err1 := json.Unmarshal(out.PolicyDocument.Statement, &one); err1 != nil {
			return nil, fmt.Errorf("policyDocument.Statement: %w", err)
		}
		stmts = []policyStatement{one}
	}
	for i, s := range stmts {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return nil, fmt.Errorf("policyDocument.Statement[%d].Effect %q is neither Allow nor Deny", i, s.Effect)
		}
		if len(s.Action) == 0 || len(s.Resource) == 0 {
			return nil, fmt.Errorf("policyDocument.Statement[%d] needs Action and Resource", i)
		}
	}
	ctx := make(map[string]string, len(out.Context))
	for k, v := range out.Context {
		switch x := v.(type) {
		case string:
			ctx[k] = x
		case bool:
			ctx[k] = strconv.FormatBool(x)
		case float64:
			ctx[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case nil:
			// null values are dropped
		default:
			return nil, fmt.Errorf("context value %q is a %T: only strings, numbers and booleans are allowed", k, v)
		}
	}
	return &authResult{principalID: *out.PrincipalID, statements: stmts, context: ctx}, nil
}

// allows evaluates the policy for methodARN as IAM does for execute-api: an
// explicit Deny wins, then an Allow; nothing matching is an implicit deny.
// Actions match case-insensitively, resources case-sensitively, both with
// IAM's wildcards (wildcardMatch).
func (a *authResult) allows(methodARN string) (allowed, explicitDeny bool) {
	for _, s := range a.statements {
		if s.Effect == "Deny" && matchesAny(s.Action, "execute-api:Invoke", true) && matchesAny(s.Resource, methodARN, false) {
			return false, true
		}
	}
	for _, s := range a.statements {
		if s.Effect == "Allow" && matchesAny(s.Action, "execute-api:Invoke", true) && matchesAny(s.Resource, methodARN, false) {
			return true, false
		}
	}
	return false, false
}

func matchesAny(patterns []string, value string, foldCase bool) bool {
	for _, p := range patterns {
		if foldCase {
			if wildcardMatch(strings.ToLower(p), strings.ToLower(value)) {
				return true
			}
		} else if wildcardMatch(p, value) {
			return true
		}
	}
	return false
}

// wildcardMatch matches IAM-style patterns: * is any run of characters,
// none included and slashes included (so GET/recordings/* covers
// GET/recordings/r1/audio), ? is exactly one character. Characters are
// runes, not bytes.
func wildcardMatch(pattern, s string) bool {
	pr, sr := []rune(pattern), []rune(s)
	p, v := 0, 0
	star, mark := -1, 0
	for v < len(sr) {
		switch {
		case p < len(pr) && pr[p] == '*':
			star, mark = p, v
			p++
		case p < len(pr) && (pr[p] == '?' || pr[p] == sr[v]):
			p++
			v++
		case star >= 0:
			p = star + 1
			mark++
			v = mark
		default:
			return false
		}
	}
	for p < len(pr) && pr[p] == '*' {
		p++
	}
	return p == len(pr)
}
