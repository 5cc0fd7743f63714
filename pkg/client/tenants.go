package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Tenant is an organisation: its keys are isolated from every other
// tenant's. Suspending it refuses all its keys within seconds.
type Tenant struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Status         string    `json:"status"` // active or suspended
	IsOperator     bool      `json:"isOperator"`
	DefaultKeyID   string    `json:"defaultKeyId"`
	CreatedAt      time.Time `json:"createdAt"`
	CreatedBy      string    `json:"createdBy"`
	CreatedByKeyID string    `json:"createdByKeyId"`
	// CreatedByKeyName and UpdatedByKeyName are the key's name at the time.
	CreatedByKeyName string     `json:"createdByKeyName"`
	UpdatedAt        time.Time  `json:"updatedAt"`
	UpdatedBy        string     `json:"updatedBy"`
	UpdatedByKeyID   string     `json:"updatedByKeyId"`
	UpdatedByKeyName string     `json:"updatedByKeyName"`
	SuspendedAt      *time.Time `json:"suspendedAt"`
	Version          int64      `json:"version"`
}

// CreatedTenant is a new tenant with its default key (keys:admin) and that
// key's token, shown this once.
type CreatedTenant struct {
	Tenant
	DefaultKey *IssuedKey `json:"defaultKey"`
}

// TenantPage is one page of tenants; NextCursor is "" on the last page.
type TenantPage struct {
	Items      []Tenant
	NextCursor string
}

func tenantPath(id string) string { return "/v1/tenants/" + url.PathEscape(id) }

// CreateTenant creates a tenant and its default key (tenants:admin, a key of
// the operator tenant). Refusals: invalid_request, forbidden, tenant_exists.
func (c *Client) CreateTenant(ctx context.Context, id, name string) (*CreatedTenant, error) {
	b, err := jsonBody(struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}{id, name})
	if err != nil {
		return nil, err
	}
	var t CreatedTenant
	if _, err := c.call(ctx, request{method: http.MethodPost, path: "/v1/tenants", body: b}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// ListTenants returns one page of tenants, newest first (tenants:admin).
func (c *Client) ListTenants(ctx context.Context, limit int, cursor string) (*TenantPage, error) {
	q := url.Values{}
	setQuery(q, "cursor", cursor)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var page struct {
		Items      []Tenant `json:"items"`
		NextCursor *string  `json:"nextCursor"`
	}
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/v1/tenants", query: q}, &page); err != nil {
		return nil, err
	}
	out := &TenantPage{Items: page.Items}
	if page.NextCursor != nil {
		out.NextCursor = *page.NextCursor
	}
	return out, nil
}

// Tenants iterates over every tenant, newest first, pageSize at a time.
func (c *Client) Tenants(ctx context.Context, pageSize int) iter.Seq2[Tenant, error] {
	return paginate(func(cursor string) ([]Tenant, string, error) {
		page, err := c.ListTenants(ctx, pageSize, cursor)
		if err != nil {
			return nil, "", err
		}
		return page.Items, page.NextCursor, nil
	}, "")
}

// GetTenant returns a tenant (tenants:admin).
func (c *Client) GetTenant(ctx context.Context, id string) (*Tenant, error) {
	return c.tenantCall(ctx, http.MethodGet, tenantPath(id))
}

// SuspendTenant suspends a tenant: every key of it is refused within seconds
// (tenants:admin).
func (c *Client) SuspendTenant(ctx context.Context, id string) (*Tenant, error) {
	return c.tenantCall(ctx, http.MethodPost, tenantPath(id)+"/suspend")
}

// ResumeTenant lifts a tenant's suspension (tenants:admin).
func (c *Client) ResumeTenant(ctx context.Context, id string) (*Tenant, error) {
	return c.tenantCall(ctx, http.MethodPost, tenantPath(id)+"/resume")
}

func (c *Client) tenantCall(ctx context.Context, method, path string) (*Tenant, error) {
	var t Tenant
	if _, err := c.call(ctx, request{method: method, path: path}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}
