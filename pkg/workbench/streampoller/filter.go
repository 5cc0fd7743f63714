package streampoller

import (
	"encoding/json"
	"fmt"
	"strings"
)

// pattern is a parsed Lambda event filter pattern (the EventBridge pattern
// syntax): an object whose leaves are lists of accepted values or matchers.
type pattern map[string]any

func parsePattern(s string) (pattern, error) {
	var p map[string]any
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("pattern is not a JSON object: %w", err)
	}
	if err := checkPattern(p); err != nil {
		return nil, err
	}
	return p, nil
}

// checkPattern rejects leaves that are not lists, as Lambda does.
func checkPattern(p map[string]any) error {
	for k, v := range p {
		switch x := v.(type) {
		case map[string]any:
			if err := checkPattern(x); err != nil {
				return fmt.Errorf("%s.%w", k, err)
			}
		case []any:
		default:
			return fmt.Errorf("%s: a pattern's values must be objects or lists", k)
		}
	}
	return nil
}

// match reports whether the event (decoded JSON) matches every field of
// the pattern.
func (p pattern) match(doc map[string]any) bool {
	return matchObject(p, doc)
}

func matchObject(p map[string]any, doc map[string]any) bool {
	for k, want := range p {
		v, present := doc[k]
		switch w := want.(type) {
		case map[string]any:
			sub, ok := v.(map[string]any)
			if !ok || !matchObject(w, sub) {
				return false
			}
		case []any:
			if !matchList(w, v, present) {
				return false
			}
		}
	}
	return true
}

// matchList reports whether value (or, for a list, any of its elements)
// matches any of the accepted values or matchers.
func matchList(accepted []any, value any, present bool) bool {
	for _, a := range accepted {
		if m, ok := a.(map[string]any); ok {
			if matchMatcher(m, value, present) {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		if list, ok := value.([]any); ok {
			for _, e := range list {
				if equalScalar(a, e) {
					return true
				}
			}
		} else if equalScalar(a, value) {
			return true
		}
	}
	return false
}

func matchMatcher(m map[string]any, value any, present bool) bool {
	for op, arg := range m {
		switch op {
		case "exists":
			want, _ := arg.(bool)
			return present == want
		}
		if !present {
			return false
		}
		if list, ok := value.([]any); ok {
			for _, e := range list {
				if matchOne(op, arg, e) {
					return true
				}
			}
			return false
		}
		return matchOne(op, arg, value)
	}
	return false
}

func matchOne(op string, arg, v any) bool {
	s, isStr := v.(string)
	switch op {
	case "prefix":
		p, ok := arg.(string)
		return ok && isStr && strings.HasPrefix(s, p)
	case "suffix":
		p, ok := arg.(string)
		return ok && isStr && strings.HasSuffix(s, p)
	case "equals-ignore-case":
		p, ok := arg.(string)
		return ok && isStr && strings.EqualFold(s, p)
	case "anything-but":
		switch a := arg.(type) {
		case []any:
			for _, x := range a {
				if equalScalar(x, v) {
					return false
				}
			}
			return true
		case map[string]any:
			for sub, subArg := range a {
				return !matchOne(sub, subArg, v)
			}
			return true
		default:
			return !equalScalar(a, v)
		}
	case "numeric":
		n, ok := v.(float64)
		if !ok {
			return false
		}
		conds, _ := arg.([]any)
		for i := 0; i+1 < len(conds); i += 2 {
			opStr, _ := conds[i].(string)
			bound, _ := conds[i+1].(float64)
			var pass bool
			switch opStr {
			case "=":
				pass = n == bound
			case "<":
				pass = n < bound
			case "<=":
				pass = n <= bound
			case ">":
				pass = n > bound
			case ">=":
				pass = n >= bound
			}
			if !pass {
				return false
			}
		}
		return len(conds) >= 2
	}
	return false
}

func equalScalar(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string, bool, float64:
		return x == b
	}
	return false
}
