package client

import (
	"context"
	"net/http"
	"time"
)

// Policy is a tenant's key policy: create, edit and rotate enforce it. Nil
// and zero fields are the defaults.
type Policy struct {
	MaxLifetimeDays             *int     `json:"maxLifetimeDays"`
	RequireExpiry               bool     `json:"requireExpiry"`
	AllowedTypes                []string `json:"allowedTypes"`
	DefaultRotationGraceSeconds *int     `json:"defaultRotationGraceSeconds"`
	RequireAllowList            bool     `json:"requireAllowList"`
	LeakAction                  string   `json:"leakAction,omitempty"` // revoke (default) or flag
	ExpiringDays                []int    `json:"expiringDays"`
	UnusedDays                  int      `json:"unusedDays,omitempty"`
	// Version, UpdatedAt and UpdatedBy are set by keyward (not sent).
	Version   int64      `json:"version,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
	UpdatedBy *string    `json:"updatedBy,omitempty"`
}

// GetPolicy returns the tenant's key policy (keys:admin).
func (c *Client) GetPolicy(ctx context.Context) (*Policy, error) {
	var p Policy
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/v1/policy"}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// PutPolicy replaces the tenant's key policy (keys:admin); ifMatch > 0
// refuses (precondition_failed) when the policy's version is no longer it.
func (c *Client) PutPolicy(ctx context.Context, p Policy, ifMatch int64) (*Policy, error) {
	p.Version, p.UpdatedAt, p.UpdatedBy = 0, nil, nil
	b, err := jsonBody(p)
	if err != nil {
		return nil, err
	}
	var out Policy
	if _, err := c.call(ctx, request{method: http.MethodPut, path: "/v1/policy", body: b, header: ifMatchHeader(ifMatch)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
