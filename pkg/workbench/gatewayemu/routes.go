package gatewayemu

import (
	"fmt"
	"net/url"
	"strings"
)

// Route binds a method and a resource path of the API to a function.
type Route struct {
	// Method is an HTTP method in upper case, or "ANY".
	Method string
	// Path is the resource path as written in the template, with {name}
	// for one segment and {name+} for the rest of the path.
	Path string
	// Function names the function the Lambda proxy integration invokes.
	Function string
	// Authorizer names the API's authorizer guarding the route ("" or
	// "NONE" for none).
	Authorizer string
	// PayloadFormatVersion is an HTTP API route's integration payload
	// format: "2.0" (the default) or "1.0".
	PayloadFormatVersion string
}

// resource is a route's path, split for matching.
type resource struct {
	path     string
	segments []segment
	methods  map[string]Route // method (or ANY) → route
}

type segment struct {
	literal string
	param   string // name when a parameter
	greedy  bool   // {name+}
}

func parseResource(path string) ([]segment, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q does not start with /", path)
	}
	if path == "/" {
		return nil, nil
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	segs := make([]segment, 0, len(parts))
	for i, p := range parts {
		switch {
		case p == "":
			return nil, fmt.Errorf("path %q has an empty segment", path)
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}"):
			if i != len(parts)-1 {
				return nil, fmt.Errorf("path %q: a greedy parameter must be last", path)
			}
			segs = append(segs, segment{param: p[1 : len(p)-2], greedy: true})
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			segs = append(segs, segment{param: p[1 : len(p)-1]})
		default:
			segs = append(segs, segment{literal: p})
		}
	}
	return segs, nil
}

// match reports whether the escaped request path fits the resource, and
// the decoded path parameters, and a rank: literal segments outrank
// parameters, which outrank a greedy parameter, position by position, as
// API Gateway prefers the most specific resource.
func (res *resource) match(escapedParts []string) (params map[string]string, rank []int, ok bool) {
	params = map[string]string{}
	for i, s := range res.segments {
		if s.greedy {
			if i >= len(escapedParts) {
				return nil, nil, false
			}
			rest := make([]string, 0, len(escapedParts)-i)
			for _, p := range escapedParts[i:] {
				rest = append(rest, unescape(p))
			}
			params[s.param] = strings.Join(rest, "/")
			rank = append(rank, 0)
			return params, rank, true
		}
		if i >= len(escapedParts) {
			return nil, nil, false
		}
		part := unescape(escapedParts[i])
		if s.param != "" {
			if part == "" {
				return nil, nil, false
			}
			params[s.param] = part
			rank = append(rank, 1)
			continue
		}
		if part != s.literal {
			return nil, nil, false
		}
		rank = append(rank, 2)
	}
	if len(escapedParts) != len(res.segments) {
		return nil, nil, false
	}
	return params, rank, true
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// better reports whether rank a is more specific than b.
func better(a, b []int) bool {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return len(a) > len(b)
}

// splitPath splits an escaped request path into its segments ("/" → none).
func splitPath(escaped string) []string {
	escaped = strings.TrimPrefix(escaped, "/")
	if escaped == "" {
		return nil
	}
	return strings.Split(escaped, "/")
}
