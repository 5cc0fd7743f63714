package audit

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keyward/keyward/pkg/apikey"
)

// Query limits.
const (
	DefaultLimit = 50
	MaxLimit     = 100
	// MaxActorLen bounds the actor filter (actors are key IDs, "system" or
	// a bootstrap's actor name).
	MaxActorLen = 256
)

// Query selects one tenant's audit records. Every field but TenantID and
// Limit is optional; the store picks the index that serves it.
type Query struct {
	TenantID string
	KeyID    string
	// SubjectTenantID selects the tenant.* records about one tenant (they
	// are in the operator tenant's trail).
	SubjectTenantID string
	Action          Action
	Actor           string
	// From (inclusive) and To (exclusive) bound the records' time; zero is open.
	From, To time.Time
	Limit    int
	// After is the store's continuation token from a previous page ("" for the first).
	After string
}

// ListInput is the query string of GET /v1/audit, as the caller sent it.
type ListInput struct {
	KeyID           string
	SubjectTenantID string
	Action          string
	Actor           string
	From            string
	To              string
	Limit           int // 0 for the default
	Cursor          string
}

// Page is one page of audit records, newest first. NextCursor is set only
// when more records match, so a page is never empty while it is set.
type Page struct {
	Items      []Record `json:"items"`
	NextCursor *string  `json:"nextCursor"`
}

// Service serves the audit trail to API callers.
type Service struct {
	store  Store
	hasher apikey.Hasher
}

// NewService returns a Service over a store; hasher MACs its cursors (the
// same way the keys list does).
func NewService(store Store, hasher apikey.Hasher) *Service {
	return &Service{store: store, hasher: hasher}
}

// List returns the caller's tenant's audit records matching in, newest
// first. A key of another tenant simply matches nothing.
// Errors: forbidden (no audit:read), invalid_request (naming the parameter),
// unavailable.
func (s *Service) List(ctx context.Context, c apikey.Caller, in ListInput) (*Page, error) {
	if err := apikey.RequireScope(c, apikey.ScopeAuditRead); err != nil {
		return nil, err
	}
	q, err := parseQuery(c.TenantID, in)
	if err != nil {
		return nil, err
	}
	binding := cursorBinding(q)
	if in.Cursor != "" {
		if q.After, err = apikey.OpenCursor(ctx, s.hasher, in.Cursor, binding); err != nil {
			return nil, err
		}
	}
	items, next, err := s.store.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &Page{Items: items}
	if page.Items == nil {
		page.Items = []Record{}
	}
	if next != "" && len(items) > 0 {
		cur, err := apikey.SealCursor(ctx, s.hasher, next, binding)
		if err != nil {
			return nil, err
		}
		page.NextCursor = &cur
	}
	return page, nil
}

// parseQuery validates the caller's parameters into a Query of tenant.
func parseQuery(tenant string, in ListInput) (Query, error) {
	q := Query{TenantID: tenant, Limit: in.Limit, Actor: in.Actor, Action: Action(in.Action), KeyID: in.KeyID}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return Query{}, apikey.Invalid("limit", "must be an integer between 1 and %d", MaxLimit)
	}
	if q.KeyID != "" && !apikey.ValidKeyID(q.KeyID) {
		return Query{}, apikey.Invalid("keyId", "must be a key ID (key_ followed by 26 characters)")
	}
	q.SubjectTenantID = in.SubjectTenantID
	if q.SubjectTenantID != "" && !apikey.ValidTenantID(q.SubjectTenantID) {
		return Query{}, apikey.Invalid("subjectTenantId", "must be a tenant ID (^[a-z0-9][a-z0-9-]{1,62}$)")
	}
	if q.SubjectTenantID != "" && q.KeyID != "" {
		return Query{}, apikey.Invalid("subjectTenantId", "cannot be combined with keyId: a record is about a key or a tenant")
	}
	if q.Action != "" && !ValidAction(q.Action) {
		names := make([]string, len(Actions))
		for i, a := range Actions {
			names[i] = string(a)
		}
		return Query{}, apikey.Invalid("action", "must be one of %s", strings.Join(names, ", "))
	}
	if q.Actor != "" && (utf8.RuneCountInString(q.Actor) > MaxActorLen || !utf8.ValidString(q.Actor) || strings.IndexFunc(q.Actor, unicode.IsControl) >= 0) {
		return Query{}, apikey.Invalid("actor", "must be at most %d characters without control characters", MaxActorLen)
	}
	var err error
	if q.From, err = parseTime("from", in.From); err != nil {
		return Query{}, err
	}
	if q.To, err = parseTime("to", in.To); err != nil {
		return Query{}, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return Query{}, apikey.Invalid("to", "must be later than from")
	}
	return q, nil
}

// parseTime reads an RFC 3339 time; records are kept to the millisecond.
func parseTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, apikey.Invalid(name, "must be an RFC 3339 time, e.g. 2026-11-23T12:00:00Z")
	}
	return t.UTC(), nil
}

// cursorBinding ties a cursor to the tenant and the filters it was issued for.
// It starts with "AUDIT", which no tenant ID can (they are lower case), so a
// keys-list cursor never opens here nor an audit cursor there.
func cursorBinding(q Query) string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.RFC3339Nano)
	}
	return strings.Join([]string{"AUDIT", q.TenantID, q.KeyID, string(q.Action), q.Actor, ts(q.From), ts(q.To), q.SubjectTenantID}, "\x00")
}
