package apikey

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// TenantStatus is a tenant's state: a suspended tenant's keys are all refused.
type TenantStatus string

// Tenant states.
const (
	TenantActive    TenantStatus = "active"
	TenantSuspended TenantStatus = "suspended"
)

// Tenant is the public tenant resource.
type Tenant struct {
	ID             string       `json:"id"`
	Name           string       `json:"name"`
	Status         TenantStatus `json:"status"`
	IsOperator     bool         `json:"isOperator"`
	DefaultKeyID   string       `json:"defaultKeyId"`
	CreatedAt      time.Time    `json:"createdAt"`
	CreatedBy      string       `json:"createdBy"`
	CreatedByKeyID string       `json:"createdByKeyId"`
	// CreatedByKeyName and UpdatedByKeyName are the acting key's name at
	// the time ("" for a change no key made, such as make bootstrap's).
	CreatedByKeyName string     `json:"createdByKeyName"`
	UpdatedAt        time.Time  `json:"updatedAt"`
	UpdatedBy        string     `json:"updatedBy"`
	UpdatedByKeyID   string     `json:"updatedByKeyId"`
	UpdatedByKeyName string     `json:"updatedByKeyName"`
	SuspendedAt      *time.Time `json:"suspendedAt"`
	Version          int64      `json:"version"`
	// Change is the write that made this version (stored with the item, so
	// the keys table's stream says who did it, with which request, from
	// where); never part of the resource.
	Change Change `json:"-"`
}

// TenantStore persists tenants; *dynamostore.Store satisfies it.
type TenantStore interface {
	// CreateTenant writes t with its default key k (and k's claims)
	// atomically. Returns ErrTenantExists when the tenant or a default key
	// for it exists.
	CreateTenant(ctx context.Context, t *Tenant, k *StoredKey) error
	// GetTenant returns a tenant. Returns ErrTenantNotFound.
	GetTenant(ctx context.Context, id string) (*Tenant, error)
	// ListTenants returns up to limit tenants, newest first, and a
	// continuation token ("" at the end).
	ListTenants(ctx context.Context, limit int, after string) ([]*Tenant, string, error)
	// SetTenantStatus replaces prev by next if the stored version still
	// equals prev.Version, and makes every key of the tenant refused (or
	// accepted again) in the same transaction. Returns ErrConflict.
	SetTenantStatus(ctx context.Context, prev, next *Tenant) error
	// DefaultKeyID returns the ID of the tenant's default key. Returns ErrTenantNotFound.
	DefaultKeyID(ctx context.Context, tenant string) (string, error)
	// PutTenant writes t unless the tenant item exists (ErrTenantExists).
	PutTenant(ctx context.Context, t *Tenant) error
}

// ErrTenantNotFound is returned when a tenant does not exist.
var ErrTenantNotFound = &Error{Code: ECodeNotFound, Message: "tenant not found"}

// CreateTenantInput is the body of POST /v1/tenants.
type CreateTenantInput struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CreatedTenant is the answer of POST /v1/tenants: the tenant and its default
// key with the token, shown this once.
type CreatedTenant struct {
	Tenant
	DefaultKey *Issued `json:"defaultKey"`
}

// TenantPage is one page of tenants.
type TenantPage struct {
	Items      []Tenant `json:"items"`
	NextCursor *string  `json:"nextCursor"`
}

func (s *Service) tenantStore() (TenantStore, error) {
	ts, ok := s.store.(TenantStore)
	if !ok {
		return nil, fmt.Errorf("the key store keeps no tenants")
	}
	return ts, nil
}

// OperatorTenant is the tenant whose keys administer tenants.
func (s *Service) OperatorTenant() string { return s.cfg.OperatorTenant }

// checkPlatformScopes refuses tenants:* scopes on a key outside the operator
// tenant: only platform keys administer or act in tenants.
func (s *Service) checkPlatformScopes(tenant string, scopes []string) error {
	if tenant == s.cfg.OperatorTenant {
		return nil
	}
	for _, sc := range scopes {
		if strings.HasPrefix(sc, "tenants:") {
			return forbidden("scopes", "%s is held only by keys of the operator tenant", sc)
		}
	}
	return nil
}

// requireTenantsAdmin refuses a caller that is not a platform key holding
// tenants:admin, acting in its own (the operator) tenant.
func (s *Service) requireTenantsAdmin(c Caller) error {
	if err := RequireScope(c, ScopeTenantsAdmin); err != nil {
		return err
	}
	if c.HomeTenant() != s.cfg.OperatorTenant || c.Acting() {
		return Errorf(ECodeForbidden, "tenants are administered by keys of the operator tenant only")
	}
	return nil
}

// requireTenant returns not_found (naming Keyward-Tenant) unless the tenant exists.
func (s *Service) requireTenant(ctx context.Context, id string) error {
	ts, err := s.tenantStore()
	if err != nil {
		return err
	}
	if _, err := ts.GetTenant(ctx, id); err != nil {
		if ErrorCode(err) == ECodeNotFound {
			return &Error{Code: ECodeNotFound, Field: "Keyward-Tenant", Message: "Keyward-Tenant: no such tenant"}
		}
		return err
	}
	return nil
}

// Bootstrap creates a tenant and its default key (keys:admin; for the
// operator tenant also tenants:admin, tenants:act and actors:assert: the
// platform key), with AWS credentials rather than through the API. It
// refuses a tenant that exists. Errors: invalid_request, tenant_exists.
func (s *Service) Bootstrap(ctx context.Context, tenantID, actor string) (*Issued, error) {
	if !ValidTenantID(tenantID) {
		return nil, Invalid("tenant", "must match ^[a-z0-9][a-z0-9-]{1,62}$")
	}
	ct, err := s.createTenant(ctx, tenantID, tenantID, Change{Actor: actor})
	if err != nil {
		return nil, err
	}
	return ct.DefaultKey, nil
}

// CreateTenant creates a tenant and its default key (keys:admin), returning
// the key's token once. Errors: forbidden, invalid_request, tenant_exists.
func (s *Service) CreateTenant(ctx context.Context, c Caller, in CreateTenantInput) (*CreatedTenant, error) {
	if err := s.requireTenantsAdmin(c); err != nil {
		return nil, err
	}
	if !ValidTenantID(in.ID) {
		return nil, Invalid("id", "must match ^[a-z0-9][a-z0-9-]{1,62}$")
	}
	name, err := validateName(s.unicode, in.Name)
	if err != nil {
		return nil, err
	}
	return s.createTenant(ctx, in.ID, name, c.Change())
}

func (s *Service) createTenant(ctx context.Context, id, name string, ch Change) (*CreatedTenant, error) {
	ts, err := s.tenantStore()
	if err != nil {
		return nil, err
	}
	now := s.clock()
	scopes := []string{ScopeAdmin}
	if id == s.cfg.OperatorTenant {
		scopes = append(scopes, PlatformScopes...)
	}
	k := &StoredKey{Key: Key{
		TenantID: id, Name: "default", Description: "Default admin key created with the tenant",
		Type: "admin", Scopes: scopes, IsDefault: true,
		AllowList: AllowList{IPs: []string{}, Origins: []string{}}, Metadata: map[string]string{},
	}}
	t := &Tenant{
		ID: id, Name: name, Status: TenantActive, IsOperator: id == s.cfg.OperatorTenant,
		CreatedAt: now, CreatedBy: ch.Actor, CreatedByKeyID: ch.ActorKeyID, CreatedByKeyName: ch.ActorKeyName,
		UpdatedAt: now, UpdatedBy: ch.Actor, UpdatedByKeyID: ch.ActorKeyID, UpdatedByKeyName: ch.ActorKeyName,
		Version: 1, Change: ch,
	}
	iss, err := s.issueWith(ctx, k, ch, now, func(k *StoredKey) error {
		t.DefaultKeyID = k.ID
		return ts.CreateTenant(ctx, t, k)
	})
	if err != nil {
		return nil, err
	}
	return &CreatedTenant{Tenant: *t, DefaultKey: iss}, nil
}

// GetTenant returns a tenant. Errors: forbidden, not_found.
func (s *Service) GetTenant(ctx context.Context, c Caller, id string) (*Tenant, error) {
	if err := s.requireTenantsAdmin(c); err != nil {
		return nil, err
	}
	ts, err := s.tenantStore()
	if err != nil {
		return nil, err
	}
	if !ValidTenantID(id) {
		return nil, ErrTenantNotFound
	}
	return ts.GetTenant(ctx, id)
}

// ListTenants returns tenants newest first. Errors: forbidden, invalid_request.
func (s *Service) ListTenants(ctx context.Context, c Caller, limit int, cursor string) (*TenantPage, error) {
	if err := s.requireTenantsAdmin(c); err != nil {
		return nil, err
	}
	ts, err := s.tenantStore()
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = DefaultListLimit
	}
	if limit < 1 || limit > MaxListLimit {
		return nil, Invalid("limit", "must be between 1 and %d", MaxListLimit)
	}
	const binding = "tenants"
	after := ""
	if cursor != "" {
		if after, err = s.openCursor(ctx, cursor, binding); err != nil {
			return nil, err
		}
	}
	items, next, err := ts.ListTenants(ctx, limit, after)
	if err != nil {
		return nil, err
	}
	page := &TenantPage{Items: make([]Tenant, len(items))}
	for i, t := range items {
		page.Items[i] = *t
	}
	if next != "" {
		cur, err := s.sealCursor(ctx, next, binding)
		if err != nil {
			return nil, err
		}
		page.NextCursor = &cur
	}
	return page, nil
}

// SetTenantStatus suspends (TenantSuspended) or resumes (TenantActive) a
// tenant: while suspended, every key of the tenant is refused. Setting the
// status a tenant has returns it unchanged. The operator tenant is never
// suspended. Errors: forbidden, not_found, conflict.
func (s *Service) SetTenantStatus(ctx context.Context, c Caller, id string, status TenantStatus) (*Tenant, error) {
	if err := s.requireTenantsAdmin(c); err != nil {
		return nil, err
	}
	ts, err := s.tenantStore()
	if err != nil {
		return nil, err
	}
	if !ValidTenantID(id) {
		return nil, ErrTenantNotFound
	}
	if id == s.cfg.OperatorTenant && status == TenantSuspended {
		return nil, Errorf(ECodeConflict, "the operator tenant cannot be suspended")
	}
	for attempt := 1; ; attempt++ {
		prev, err := ts.GetTenant(ctx, id)
		if err != nil {
			return nil, err
		}
		if prev.Status == status {
			return prev, nil
		}
		now, ch := s.clock(), c.Change()
		next := *prev
		next.Status, next.Version = status, prev.Version+1
		next.UpdatedAt, next.UpdatedBy, next.UpdatedByKeyID, next.UpdatedByKeyName = now, ch.Actor, ch.ActorKeyID, ch.ActorKeyName
		next.Change = ch
		next.SuspendedAt = nil
		if status == TenantSuspended {
			next.SuspendedAt = &now
		}
		err = ts.SetTenantStatus(ctx, prev, &next)
		if err == nil {
			return &next, nil
		}
		if ErrorCode(err) != ECodeConflict || attempt == maxAttempts {
			return nil, err
		}
	}
}

// RotateDefaultKey is break-glass: it rotates a tenant's default key (no
// grace period) for an operator with AWS credentials, never through the API,
// recording actor (operator:<principal>). Errors: not_found, conflict.
func (s *Service) RotateDefaultKey(ctx context.Context, tenantID, actor string) (*Issued, error) {
	ts, err := s.tenantStore()
	if err != nil {
		return nil, err
	}
	id, err := ts.DefaultKeyID(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var secret, token string
	c := Caller{TenantID: tenantID, Actor: actor}
	k, err := s.mutate(ctx, c, id, nil, func(prev, next *StoredKey, now time.Time) error {
		var err error
		secret, token, err = s.rotateSecret(ctx, prev, next, now, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Issued{Key: *k, Secret: secret, Token: token}, nil
}

// RegisterTenant records a tenant whose default key was made before tenants
// were kept (it has a default key but no tenant item), so it can be listed,
// suspended and acted in; its keys are untouched. Errors: not_found (no
// default key), tenant_exists (already registered).
func (s *Service) RegisterTenant(ctx context.Context, tenantID, actor string) (*Tenant, error) {
	ts, err := s.tenantStore()
	if err != nil {
		return nil, err
	}
	id, err := ts.DefaultKeyID(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	k, err := s.store.GetKey(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	t := &Tenant{
		ID: tenantID, Name: tenantID, Status: TenantActive, IsOperator: tenantID == s.cfg.OperatorTenant,
		DefaultKeyID: id, CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy, UpdatedAt: now, UpdatedBy: actor, Version: 1,
		Change: Change{Actor: actor},
	}
	if err := ts.PutTenant(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}
