package authorizer

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxKeyCacheTTL is the longest in-memory key cache accepted: revocation must
// reach every container within seconds.
const MaxKeyCacheTTL = time.Minute

// ReadConfig reads the authorizer's own settings through getenv (os.Getenv
// in a function): KEY_CACHE_TTL (seconds, or a Go duration such as 500ms; 0
// disables; default 2 s), AUTHORIZER_CACHE_TTL (the gateway's result cache in
// seconds; when positive, keys are not cached in memory) and ROUTE_SCOPES (the
// RouteScopes parameter's JSON).
// TokenPrefix is left for the caller, which reads it with the other common
// settings. A malformed value is an error naming the variable.
func ReadConfig(getenv func(string) string) (Config, error) {
	cfg := Config{KeyCacheTTL: DefaultKeyCacheTTL}
	if v := strings.TrimSpace(getenv("KEY_CACHE_TTL")); v != "" {
		d, err := parseTTL(v)
		if err != nil || d < 0 || d > MaxKeyCacheTTL {
			return Config{}, fmt.Errorf("KEY_CACHE_TTL %q must be a number of seconds (or a duration such as 500ms) from 0 to %d", v, int(MaxKeyCacheTTL/time.Second))
		}
		cfg.KeyCacheTTL = d
	}
	if v := strings.TrimSpace(getenv("AUTHORIZER_CACHE_TTL")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3600 {
			return Config{}, fmt.Errorf("AUTHORIZER_CACHE_TTL %q must be a number of seconds from 0 to 3600", v)
		}
		cfg.GatewayCaches = n > 0
	}
	routes, err := ParseRouteScopes(getenv("ROUTE_SCOPES"))
	if err != nil {
		return Config{}, fmt.Errorf("ROUTE_SCOPES: %w", err)
	}
	cfg.RouteScopes = routes
	return cfg, nil
}

func parseTTL(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 || n > int(MaxKeyCacheTTL/time.Second) {
			return 0, fmt.Errorf("out of range")
		}
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}
