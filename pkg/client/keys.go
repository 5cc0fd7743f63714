package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AllowList limits where a key may be used from: CIDRs (IPv4 or IPv6) and
// origins (https://host[:port] or *.suffix). Empty lists allow everything.
type AllowList struct {
	IPs     []string `json:"ips"`
	Origins []string `json:"origins"`
}

// Key is a key as the API describes it (never its secret).
type Key struct {
	ID                      string            `json:"id"`
	TenantID                string            `json:"tenantId"`
	Name                    string            `json:"name"`
	Description             string            `json:"description"`
	Type                    string            `json:"type"`
	Scopes                  []string          `json:"scopes"`
	AllowList               AllowList         `json:"allowList"`
	Metadata                map[string]string `json:"metadata"`
	Status                  string            `json:"status"`
	IsDefault               bool              `json:"isDefault"`
	Hint                    string            `json:"hint"`
	CreatedAt               time.Time         `json:"createdAt"`
	CreatedBy               string            `json:"createdBy"`
	CreatedByKeyID          string            `json:"createdByKeyId"`
	CreatedByKeyName        string            `json:"createdByKeyName"`
	UpdatedAt               time.Time         `json:"updatedAt"`
	UpdatedBy               string            `json:"updatedBy"`
	UpdatedByKeyID          string            `json:"updatedByKeyId"`
	UpdatedByKeyName        string            `json:"updatedByKeyName"`
	ExpiresAt               *time.Time        `json:"expiresAt"`
	RevokedAt               *time.Time        `json:"revokedAt"`
	RevokedBy               *string           `json:"revokedBy"`
	RevokedByKeyID          *string           `json:"revokedByKeyId"`
	RevokedByKeyName        *string           `json:"revokedByKeyName"`
	RotatedAt               *time.Time        `json:"rotatedAt"`
	PreviousSecretExpiresAt *time.Time        `json:"previousSecretExpiresAt"`
	LastUsedAt              *time.Time        `json:"lastUsedAt"`
	// Leak is set when a secret scanner reported the key's token.
	Leak *struct {
		ReportedAt time.Time `json:"reportedAt"`
		URL        string    `json:"url"`
		Source     string    `json:"source"`
	} `json:"leak"`
	// Version increases with every change; pass it as ifMatch to EditKey or
	// RotateKey to refuse (412 precondition_failed) a change made since.
	Version int64 `json:"version"`
}

// IssuedKey is a key with its new secret and token, returned by CreateKey
// and RotateKey: the only time they are shown. Store the token; never log it.
type IssuedKey struct {
	Key
	Secret string `json:"secret"`
	Token  string `json:"token"`
}

// CreateKeyInput is the body of POST /v1/keys. Name and Scopes are required.
type CreateKeyInput struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Type        string            `json:"type,omitempty"`
	Scopes      []string          `json:"scopes"`
	AllowList   *AllowList        `json:"allowList,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	ExpiresAt   *time.Time        `json:"expiresAt,omitempty"`
	// ExpiresIn is a lifetime from now ("90d", "12h", "30m"), instead of ExpiresAt.
	ExpiresIn string `json:"expiresIn,omitempty"`
}

// EditKeyInput is the body of PATCH /v1/keys/{id}: nil fields stay as they
// are. Type, scopes and the secret never change.
type EditKeyInput struct {
	Name        *string            `json:"name,omitempty"`
	Description *string            `json:"description,omitempty"`
	Metadata    *map[string]string `json:"metadata,omitempty"`
	AllowList   *AllowList         `json:"allowList,omitempty"`
	ExpiresAt   *time.Time         `json:"expiresAt,omitempty"`
}

// ListKeysParams filters GET /v1/keys. Zero fields are not sent.
type ListKeysParams struct {
	Status string // active, revoked or expired
	Type   string
	Query  string // case-insensitive name prefix (q)
	Limit  int    // page size, 1-100 (default 50)
	Cursor string
}

// KeyPage is one page of keys; NextCursor is "" on the last page.
type KeyPage struct {
	Items      []Key
	NextCursor string
}

// BatchResult is the outcome of revoking one key of a batch: Status is
// "revoked" or "error" (then Error says why).
type BatchResult struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error,omitempty"`
}

func keyPath(id string) string { return "/v1/keys/" + url.PathEscape(id) }

func ifMatchHeader(version int64) http.Header {
	if version <= 0 {
		return nil
	}
	return http.Header{"If-Match": {`"` + strconv.FormatInt(version, 10) + `"`}}
}

// CreateKey creates a key (keys:write). Refusals: invalid_request (the field
// is named), forbidden (a scope, expiry or allow-list beyond the caller's),
// name_taken.
func (c *Client) CreateKey(ctx context.Context, in CreateKeyInput) (*IssuedKey, error) {
	b, err := jsonBody(in)
	if err != nil {
		return nil, err
	}
	var k IssuedKey
	if _, err := c.call(ctx, request{method: http.MethodPost, path: "/v1/keys", body: b}, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// ListKeys returns one page of the tenant's keys (keys:read).
func (c *Client) ListKeys(ctx context.Context, p ListKeysParams) (*KeyPage, error) {
	q := url.Values{}
	setQuery(q, "status", p.Status)
	setQuery(q, "type", p.Type)
	setQuery(q, "q", p.Query)
	setQuery(q, "cursor", p.Cursor)
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	var page struct {
		Items      []Key   `json:"items"`
		NextCursor *string `json:"nextCursor"`
	}
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/v1/keys", query: q}, &page); err != nil {
		return nil, err
	}
	out := &KeyPage{Items: page.Items}
	if page.NextCursor != nil {
		out.NextCursor = *page.NextCursor
	}
	return out, nil
}

// Keys iterates over every key matching p, page by page (p.Limit is the page
// size). It stops at the first error, which it yields.
func (c *Client) Keys(ctx context.Context, p ListKeysParams) iter.Seq2[Key, error] {
	return paginate(func(cursor string) ([]Key, string, error) {
		p.Cursor = cursor
		page, err := c.ListKeys(ctx, p)
		if err != nil {
			return nil, "", err
		}
		return page.Items, page.NextCursor, nil
	}, p.Cursor)
}

// GetKey returns one key of the caller's tenant (keys:read); another
// tenant's key is not_found.
func (c *Client) GetKey(ctx context.Context, id string) (*Key, error) {
	var k Key
	if _, err := c.call(ctx, request{method: http.MethodGet, path: keyPath(id)}, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// EditKey changes a key's name, description, metadata, allow-list or expiry
// (keys:write). With ifMatch > 0 the edit is refused (precondition_failed)
// when the key's version is no longer ifMatch.
func (c *Client) EditKey(ctx context.Context, id string, in EditKeyInput, ifMatch int64) (*Key, error) {
	b, err := jsonBody(in)
	if err != nil {
		return nil, err
	}
	var k Key
	if _, err := c.call(ctx, request{method: http.MethodPatch, path: keyPath(id), body: b, header: ifMatchHeader(ifMatch)}, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// RotateKey issues a new secret (keys:write); the previous one keeps working
// for grace (0 to 7 days, whole seconds). ifMatch as for EditKey.
func (c *Client) RotateKey(ctx context.Context, id string, grace time.Duration, ifMatch int64) (*IssuedKey, error) {
	b, err := jsonBody(struct {
		GracePeriodSeconds int64 `json:"gracePeriodSeconds"`
	}{int64(grace / time.Second)})
	if err != nil {
		return nil, err
	}
	var k IssuedKey
	if _, err := c.call(ctx, request{method: http.MethodPost, path: keyPath(id) + "/rotate", body: b, header: ifMatchHeader(ifMatch)}, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// RevokeKey revokes a key (keys:revoke); revoking a revoked key is not an
// error. The tenant's default key cannot be revoked (default_key_immutable).
func (c *Client) RevokeKey(ctx context.Context, id string) (*Key, error) {
	var k Key
	if _, err := c.call(ctx, request{method: http.MethodDelete, path: keyPath(id)}, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// BatchRevoke revokes up to 100 keys (keys:revoke) and reports each distinct
// ID's outcome in request order.
func (c *Client) BatchRevoke(ctx context.Context, ids []string) ([]BatchResult, error) {
	b, err := jsonBody(struct {
		IDs []string `json:"ids"`
	}{ids})
	if err != nil {
		return nil, err
	}
	var out struct {
		Results []BatchResult `json:"results"`
	}
	if _, err := c.call(ctx, request{method: http.MethodPost, path: "/v1/keys/batch-revoke", body: b}, &out); err != nil {
		return nil, err
	}
	return out.Results, nil
}

func setQuery(q url.Values, name, v string) {
	if v != "" {
		q.Set(name, v)
	}
}

// paginate turns a page fetcher into an iterator over items.
func paginate[T any](fetch func(cursor string) ([]T, string, error), cursor string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, next, err := fetch(cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			cursor = next
		}
	}
}
