package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AuditRecord is one change of a key: who (Actor, a key ID or "system"),
// when, from where, and the fields changed (never a secret or its hash).
type AuditRecord struct {
	ID       string `json:"id"`
	TenantID string `json:"tenantId"`
	KeyID    string `json:"keyId"`
	Action   string `json:"action"`
	Actor    string `json:"actor"`
	// ActorKeyID and ActorKeyName are the key that made the change (nil for
	// a change no key made); Actor is the person it asserted, else its ID.
	ActorKeyID   *string                `json:"actorKeyId"`
	ActorKeyName *string                `json:"actorKeyName"`
	At           time.Time              `json:"at"`
	RequestID    *string                `json:"requestId"`
	SourceIP     *string                `json:"sourceIp"`
	Changes      map[string]FieldChange `json:"changes"`
	// SubjectTenantID is the tenant a tenant.* record is about (nil on other
	// records); such records are in the operator tenant's trail.
	SubjectTenantID *string `json:"subjectTenantId,omitempty"`
}

// FieldChange is a field's value before and after a change.
type FieldChange struct {
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// AuditParams filters GET /v1/audit. Zero fields are not sent.
type AuditParams struct {
	KeyID string
	// SubjectTenantID selects the tenant.* records about one tenant (a
	// platform key reading the operator tenant's trail); not with KeyID.
	SubjectTenantID string
	Action          string // key.created, key.updated, …, policy.updated, tenant.created, tenant.suspended, …
	Actor           string
	From            time.Time // inclusive
	To              time.Time // exclusive
	Limit           int       // page size, 1-100 (default 50)
	Cursor          string
}

// AuditPage is one page of audit records, newest first; NextCursor is "" on
// the last page.
type AuditPage struct {
	Items      []AuditRecord
	NextCursor string
}

// ListAudit returns one page of the tenant's audit trail (audit:read).
func (c *Client) ListAudit(ctx context.Context, p AuditParams) (*AuditPage, error) {
	q := url.Values{}
	setQuery(q, "keyId", p.KeyID)
	setQuery(q, "subjectTenantId", p.SubjectTenantID)
	setQuery(q, "action", p.Action)
	setQuery(q, "actor", p.Actor)
	setQuery(q, "cursor", p.Cursor)
	if !p.From.IsZero() {
		q.Set("from", p.From.UTC().Format(time.RFC3339Nano))
	}
	if !p.To.IsZero() {
		q.Set("to", p.To.UTC().Format(time.RFC3339Nano))
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	var page struct {
		Items      []AuditRecord `json:"items"`
		NextCursor *string       `json:"nextCursor"`
	}
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/v1/audit", query: q}, &page); err != nil {
		return nil, err
	}
	out := &AuditPage{Items: page.Items}
	if page.NextCursor != nil {
		out.NextCursor = *page.NextCursor
	}
	return out, nil
}

// Audit iterates over every audit record matching p, newest first, page by
// page. It stops at the first error, which it yields.
func (c *Client) Audit(ctx context.Context, p AuditParams) iter.Seq2[AuditRecord, error] {
	return paginate(func(cursor string) ([]AuditRecord, string, error) {
		p.Cursor = cursor
		page, err := c.ListAudit(ctx, p)
		if err != nil {
			return nil, "", err
		}
		return page.Items, page.NextCursor, nil
	}, p.Cursor)
}

// Whoami describes the calling key.
type Whoami struct {
	KeyID    string   `json:"keyId"`
	TenantID string   `json:"tenantId"`
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Scopes   []string `json:"scopes"`
	// ActingTenantID is the tenant a platform key acts in (WithTenant).
	ActingTenantID string `json:"actingTenantId,omitempty"`
	// Actor is the person asserted with WithActor.
	Actor string `json:"actor,omitempty"`
}

// Whoami returns the calling key (any valid key may ask).
func (c *Client) Whoami(ctx context.Context) (*Whoami, error) {
	var w Whoami
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/v1/whoami"}, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// OpenAPI returns the API's OpenAPI 3.1 document (no key needed).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/openapi.json", anonymous: true})
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}
