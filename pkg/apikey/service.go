package apikey

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Caller is the authenticated key making a request, from the authorizer
// context, and what it asserted with checked headers.
type Caller struct {
	// TenantID is the tenant the request acts in: the key's own, or the one
	// a platform key named in Keyward-Tenant.
	TenantID string
	// KeyTenantID is the calling key's own tenant ("" means TenantID).
	KeyTenantID string
	KeyID       string
	// KeyName is the calling key's name, as the authorizer described it.
	KeyName string
	Scopes  []string
	// Actor is the person the key acts for (Keyward-Actor), "" for none.
	Actor     string
	RequestID string
	SourceIP  string
}

// HomeTenant is the calling key's own tenant.
func (c Caller) HomeTenant() string {
	if c.KeyTenantID != "" {
		return c.KeyTenantID
	}
	return c.TenantID
}

// Acting reports whether a platform key acts inside another tenant.
func (c Caller) Acting() bool { return c.HomeTenant() != c.TenantID }

// Change is what a write by the caller records: the person, else the key,
// as actor; the key and its name beside it.
func (c Caller) Change() Change {
	actor := c.Actor
	if actor == "" {
		actor = c.KeyID
	}
	return Change{Actor: actor, ActorKeyID: c.KeyID, ActorKeyName: c.KeyName, RequestID: c.RequestID, SourceIP: c.SourceIP}
}

// Config holds the operator's settings (template parameters).
type Config struct {
	// TokenPrefix starts every token; "kw" when empty.
	TokenPrefix string
	// KeyTypes, when set, lists the allowed key types.
	KeyTypes []string
	// RevokedRetention is how long a revoked key is kept before TTL purges it.
	RevokedRetention time.Duration
	// RouteScopes, when set, are the scopes the protected APIs' routes need
	// (the RouteScopes parameter's values): a new key may then hold only
	// keyward's own scopes and scopes covering one of these, so a typo such
	// as recording:read is refused instead of granting nothing.
	RouteScopes []string
	// OperatorTenant holds the platform keys; DefaultOperatorTenant when empty.
	OperatorTenant string
}

// DefaultOperatorTenant is the operator tenant when the settings name none.
const DefaultOperatorTenant = "operator"

// Service is the key lifecycle: create, get, list, edit, rotate, revoke.
type Service struct {
	store   Store
	hasher  Hasher
	unicode Unicode
	cfg     Config
	now     func() time.Time
	rand    io.Reader
	// policies, when set, hold each tenant's key policy (WithPolicies).
	policies PolicyStore
	// hints are what creates assume of policies and callers (guard.go).
	hints hints

	// ids is monotonic, so keys made in one millisecond by one container still
	// list newest first.
	idMu sync.Mutex
	ids  *ulid.MonotonicEntropy
}

// Option customises a Service.
type Option func(*Service)

// WithClock injects the clock (tests use it for expiry and grace periods).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithRand injects the randomness source for IDs and secrets.
func WithRand(r io.Reader) Option { return func(s *Service) { s.rand = r } }

// NewService returns a Service over a store, a hasher and the Unicode rules
// for names and allow-list hosts (unicoderules.Rules). A service that never
// validates names or allow-lists (the revoke, policy and leaks functions) may
// pass nil and so link no Unicode tables.
func NewService(store Store, hasher Hasher, text Unicode, cfg Config, opts ...Option) *Service {
	if cfg.TokenPrefix == "" {
		cfg.TokenPrefix = "kw"
	}
	if cfg.RevokedRetention <= 0 {
		cfg.RevokedRetention = 90 * 24 * time.Hour
	}
	if cfg.OperatorTenant == "" {
		cfg.OperatorTenant = DefaultOperatorTenant
	}
	s := &Service{store: store, hasher: hasher, unicode: text, cfg: cfg, now: time.Now, rand: rand.Reader}
	for _, o := range opts {
		o(s)
	}
	s.ids = ulid.Monotonic(s.rand, 0)
	return s
}

// nameKey is name's comparison form, which every stored key carries.
func (s *Service) nameKey(name string) (string, error) {
	if s.unicode == nil {
		return "", errors.New("name key: this service was built without Unicode rules")
	}
	return s.unicode.NameKey(name), nil
}

// Config returns the service's settings.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// CreateInput is the body of POST /v1/keys.
type CreateInput struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Type        string            `json:"type"`
	Scopes      []string          `json:"scopes"`
	AllowList   *AllowList        `json:"allowList"`
	Metadata    map[string]string `json:"metadata"`
	ExpiresAt   *string           `json:"expiresAt"`
	// ExpiresIn ("90d", "12h", "30m") is expiresAt relative to now.
	ExpiresIn *string `json:"expiresIn"`
}

// Issued is a key with its secret and token, returned once by create and rotate.
type Issued struct {
	Key
	Secret string `json:"secret"`
	Token  string `json:"token"`
}

// DefaultKeyType is the type of a key created without one.
const DefaultKeyType = "client"

// RequireScope returns forbidden unless the caller holds scope. Handlers call
// it before reading a request, so a key that may not call a route learns
// nothing from its validation; the service checks again.
func RequireScope(c Caller, scope string) error {
	if !HasScope(c.Scopes, scope) {
		return Errorf(ECodeForbidden, "this key lacks the %s scope", scope)
	}
	return nil
}

// Create validates in and creates a key for the caller's tenant.
// Errors: invalid_request, unauthorized (the calling key is no longer
// active), forbidden, name_taken, unavailable.
func (s *Service) Create(ctx context.Context, c Caller, in CreateInput) (*Issued, error) {
	if err := RequireScope(c, ScopeWrite); err != nil {
		return nil, err
	}
	now := s.clock()
	k, err := s.validateCreate(c, in, now)
	if err != nil {
		return nil, err
	}
	// The tenant's policy and the caller's own restrictions, checked in the
	// create's transaction (guard.go).
	return s.create(ctx, c, k, now)
}

// principal reads the calling key as stored, for the restrictions (expiry,
// allow-list) that bound what it may hand out. A caller whose key is gone,
// revoked or expired since the authorizer let it in is unauthorized.
func (s *Service) principal(ctx context.Context, c Caller, now time.Time) (Principal, error) {
	k, err := s.store.GetKey(ctx, c.KeyID)
	if ErrorCode(err) == ECodeNotFound {
		return Principal{}, ErrUnauthorized
	}
	if err != nil {
		return Principal{}, fmt.Errorf("read calling key: %w", err)
	}
	if k.TenantID != c.HomeTenant() || k.StatusAt(now) != StatusActive || k.TenantSuspended {
		return Principal{}, ErrUnauthorized
	}
	return principalOf(k), nil
}

// actOn refuses acting on target unless the caller could grant every scope
// it holds. The default key is never edited or revoked through the API
// (default_key_immutable, whoever asks); it holds keys:admin, which nobody
// grants, so it is rotated only by itself (or with AWS credentials).
func actOn(c Caller, target *StoredKey, verb string) error {
	if target.IsDefault {
		if verb != "rotate" {
			return ErrDefaultImmutable
		}
		if target.ID == c.KeyID {
			return nil
		}
		return forbidden("keyId", "the tenant's default key is rotated only by itself (or with AWS credentials, break-glass)")
	}
	return checkScopesBelow(c.Scopes, target.Scopes, verb)
}

func (s *Service) validateCreate(c Caller, in CreateInput, now time.Time) (*StoredKey, error) {
	name, err := validateName(s.unicode, in.Name)
	if err != nil {
		return nil, err
	}
	if err := validateDescription(in.Description); err != nil {
		return nil, err
	}
	typ := in.Type
	if typ == "" {
		typ = DefaultKeyType
		if len(s.cfg.KeyTypes) > 0 {
			typ = s.cfg.KeyTypes[0]
		}
	}
	if err := validateType(typ, s.cfg.KeyTypes); err != nil {
		return nil, err
	}
	scopes, err := validateScopes(in.Scopes)
	if err != nil {
		return nil, err
	}
	if err := checkKnownScopes(scopes, s.cfg.RouteScopes); err != nil {
		return nil, err
	}
	if err := checkScopesBelow(c.Scopes, scopes, "create"); err != nil {
		return nil, err
	}
	if err := s.checkPlatformScopes(c.TenantID, scopes); err != nil {
		return nil, err
	}
	allow := AllowList{IPs: []string{}, Origins: []string{}}
	if in.AllowList != nil {
		if allow, err = normalizeAllowList(s.unicode, *in.AllowList); err != nil {
			return nil, err
		}
	}
	if err := validateMetadata(in.Metadata); err != nil {
		return nil, err
	}
	k := &StoredKey{Key: Key{
		TenantID: c.TenantID, Name: name, Description: in.Description, Type: typ,
		Scopes: scopes, AllowList: allow, Metadata: in.Metadata,
	}}
	if k.Metadata == nil {
		k.Metadata = map[string]string{}
	}
	if k.ExpiresAt, err = resolveExpiry(in.ExpiresAt, in.ExpiresIn, now); err != nil {
		return nil, err
	}
	return k, nil
}

// issueWith gives k an ID and a secret and stores it with put.
func (s *Service) issueWith(ctx context.Context, k *StoredKey, ch Change, now time.Time, put func(*StoredKey) error) (*Issued, error) {
	s.idMu.Lock()
	id, err := ulid.New(ulid.Timestamp(now), s.ids)
	s.idMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("new key id: %w", err)
	}
	k.ID = KeyIDPrefix + id.String()
	if k.NameKey, err = s.nameKey(k.Name); err != nil {
		return nil, err
	}
	secret, token, hash, err := s.newSecret(ctx, k.ID)
	if err != nil {
		return nil, err
	}
	k.Status = StatusActive
	k.SecretHash = hash
	k.Hint = Hint(token)
	k.CreatedAt, k.UpdatedAt = now, now
	k.CreatedBy, k.CreatedByKeyID, k.CreatedByKeyName = ch.Actor, ch.ActorKeyID, ch.ActorKeyName
	k.UpdatedBy, k.UpdatedByKeyID, k.UpdatedByKeyName = ch.Actor, ch.ActorKeyID, ch.ActorKeyName
	k.Version = 1
	k.Change = ch
	if err := put(k); err != nil {
		return nil, err
	}
	return &Issued{Key: k.Public(now), Secret: secret, Token: token}, nil
}

func (s *Service) newSecret(ctx context.Context, keyID string) (secret, token string, h Hash, err error) {
	secret, err = NewSecret(s.rand)
	if err != nil {
		return "", "", Hash{}, fmt.Errorf("new secret: %w", err)
	}
	h, err = s.hasher.Hash(ctx, []byte(secret))
	if err != nil {
		return "", "", Hash{}, fmt.Errorf("hash secret: %w", err)
	}
	return secret, FormatToken(s.cfg.TokenPrefix, keyID, secret), h, nil
}

// Get returns one of the caller's tenant's keys. Errors: forbidden, not_found.
func (s *Service) Get(ctx context.Context, c Caller, id string) (*Key, error) {
	if err := RequireScope(c, ScopeRead); err != nil {
		return nil, err
	}
	k, err := s.load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	pub := k.Public(s.clock())
	if err := s.fillLastUsed(ctx, []*Key{&pub}); err != nil {
		return nil, err
	}
	return &pub, nil
}

// load reads a key and hides other tenants' keys as not_found.
func (s *Service) load(ctx context.Context, c Caller, id string) (*StoredKey, error) {
	if !ValidKeyID(id) {
		return nil, ErrNotFound
	}
	k, err := s.store.GetKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if k.TenantID != c.TenantID {
		return nil, ErrNotFound
	}
	return k, nil
}

func (s *Service) fillLastUsed(ctx context.Context, keys []*Key) error {
	if len(keys) == 0 {
		return nil
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	used, err := s.store.LastUsed(ctx, ids)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if t, ok := used[k.ID]; ok {
			t := t
			k.LastUsedAt = &t
		}
	}
	return nil
}

// ListInput is the query of GET /v1/keys.
type ListInput struct {
	Limit  int
	Cursor string
	Status string
	Type   string
	Q      string
}

// Page is one page of keys.
type Page struct {
	Items      []Key   `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

type cursorBody struct {
	After string `json:"a"`
}

// List returns the caller's tenant's keys, newest first (or matching a
// case-insensitive name prefix). Errors: invalid_request, forbidden.
func (s *Service) List(ctx context.Context, c Caller, in ListInput) (*Page, error) {
	if err := RequireScope(c, ScopeRead); err != nil {
		return nil, err
	}
	q := ListQuery{TenantID: c.TenantID, Limit: in.Limit, Type: in.Type, Now: s.clock()}
	if q.Limit == 0 {
		q.Limit = DefaultListLimit
	}
	if q.Limit < 1 || q.Limit > MaxListLimit {
		return nil, Invalid("limit", "must be between 1 and %d", MaxListLimit)
	}
	switch Status(in.Status) {
	case "", StatusActive, StatusRevoked, StatusExpired:
		q.Status = Status(in.Status)
	default:
		return nil, Invalid("status", "must be active, revoked or expired")
	}
	if in.Type != "" && !ValidType(in.Type) {
		return nil, Invalid("type", "must match ^[a-z][a-z0-9_-]{0,31}$")
	}
	if in.Q != "" {
		if utf8Len(in.Q) > MaxNameLen || hasControl(in.Q, false) {
			return nil, Invalid("q", "must be at most %d characters without control characters", MaxNameLen)
		}
		q.NamePrefix = s.unicode.NameKey(in.Q)
		if len(q.NamePrefix) > MaxNameKeyBytes {
			return nil, Invalid("q", "is too long once normalised for comparison")
		}
	}
	binding := strings.Join([]string{c.TenantID, string(q.Status), q.Type, q.NamePrefix}, "\x00")
	if in.Cursor != "" {
		after, err := s.openCursor(ctx, in.Cursor, binding)
		if err != nil {
			return nil, err
		}
		q.After = after
	}
	items, next, err := s.store.ListKeys(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &Page{Items: make([]Key, len(items))}
	ptrs := make([]*Key, len(items))
	for i, k := range items {
		page.Items[i] = k.Public(q.Now)
		ptrs[i] = &page.Items[i]
	}
	if err := s.fillLastUsed(ctx, ptrs); err != nil {
		return nil, err
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

func utf8Len(s string) int { return len([]rune(s)) }

// Cursors are base64url(JSON) "." base64url(HMAC): opaque to clients and
// tamper-evident, bound to the tenant and the filters they were issued for.
func (s *Service) sealCursor(ctx context.Context, after, binding string) (string, error) {
	body, err := json.Marshal(cursorBody{After: after})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding.EncodeToString(body)
	mac, err := s.hasher.MAC(ctx, "cursor", []byte(binding+"\x00"+enc))
	if err != nil {
		return "", fmt.Errorf("seal cursor: %w", err)
	}
	return enc + "." + base64.RawURLEncoding.EncodeToString(mac), nil
}

func (s *Service) openCursor(ctx context.Context, cursor, binding string) (string, error) {
	bad := Invalid("cursor", "is not a cursor this list issued (it may be tampered with or belong to other filters)")
	enc, tag, ok := strings.Cut(cursor, ".")
	if !ok || len(cursor) > 4096 {
		return "", bad
	}
	// Only the canonical spelling opens: decoding skips CR and LF and ignores
	// the padding bits of the last character, so one tag has many spellings.
	got, err := base64.RawURLEncoding.DecodeString(tag)
	if err != nil || base64.RawURLEncoding.EncodeToString(got) != tag {
		return "", bad
	}
	want, err := s.hasher.MAC(ctx, "cursor", []byte(binding+"\x00"+enc))
	if err != nil {
		return "", fmt.Errorf("open cursor: %w", err)
	}
	if !hmac.Equal(got, want) {
		return "", bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", bad
	}
	var body cursorBody
	if err := json.Unmarshal(raw, &body); err != nil || body.After == "" {
		return "", bad
	}
	return body.After, nil
}

// PatchInput is the body of PATCH /v1/keys/{id}. Absent fields are unchanged;
// metadata and allowList replace the stored value whole.
type PatchInput struct {
	Name        *string            `json:"name"`
	Description *string            `json:"description"`
	Metadata    *map[string]string `json:"metadata"`
	AllowList   *AllowList         `json:"allowList"`
	ExpiresAt   *string            `json:"expiresAt"`
	// ExpiresIn ("90d", "12h", "30m") is expiresAt relative to now.
	ExpiresIn *string `json:"expiresIn"`
	// Type and Scopes are refused with a clear message: they never change.
	Type   *json.RawMessage `json:"type"`
	Scopes *json.RawMessage `json:"scopes"`
}

// Update edits a key. ifMatch, when not nil, must equal the stored version.
// Errors: invalid_request, forbidden, not_found, name_taken,
// default_key_immutable, precondition_failed, conflict.
func (s *Service) Update(ctx context.Context, c Caller, id string, in PatchInput, ifMatch *int64) (*Key, error) {
	if err := RequireScope(c, ScopeWrite); err != nil {
		return nil, err
	}
	name, allow, err := in.validate(s.unicode)
	if err != nil {
		return nil, err
	}
	return s.mutate(ctx, c, id, ifMatch, func(prev *StoredKey, next *StoredKey, now time.Time) error {
		if err := actOn(c, prev, "edit"); err != nil {
			return err
		}
		if in.AllowList != nil {
			// A new allow-list may not be wider than the caller's own.
			p, err := s.principal(ctx, c, now)
			if err != nil {
				return err
			}
			if err := checkAllowListWithin(p, allow); err != nil {
				return err
			}
		}
		if err := requireActive(prev, now); err != nil {
			return err
		}
		if in.Name != nil {
			next.Name = name
		}
		if in.Description != nil {
			next.Description = *in.Description
		}
		if in.Metadata != nil {
			next.Metadata = *in.Metadata
			if next.Metadata == nil {
				next.Metadata = map[string]string{}
			}
		}
		if in.AllowList != nil {
			next.AllowList = allow
		}
		if in.ExpiresAt != nil || in.ExpiresIn != nil {
			t, err := resolveExpiry(in.ExpiresAt, in.ExpiresIn, now)
			if err != nil {
				return err
			}
			if prev.ExpiresAt != nil && !t.Before(*prev.ExpiresAt) {
				return Invalid("expiresAt", "can only be made earlier (currently %s)", prev.ExpiresAt.Format(time.RFC3339))
			}
			next.ExpiresAt = t
		}
		if in.AllowList != nil || in.ExpiresAt != nil || in.ExpiresIn != nil {
			pol, err := s.policyFor(ctx, c.TenantID)
			if err != nil {
				return err
			}
			if in.AllowList != nil {
				if err := policyAllowList(pol, &next.Key); err != nil {
					return err
				}
			}
			// Made earlier only, so the maximum lifetime is the one rule left.
			if in.ExpiresAt != nil || in.ExpiresIn != nil {
				if err := policyExpiry(pol, &next.Key, now); err != nil {
					return err
				}
			}
		}
		if reflect.DeepEqual(prev.Key, next.Key) {
			return errUnchanged // nothing to write: no new version, no audit record
		}
		return nil
	})
}

// validate checks what a patch sets, before anything is read: the name
// (returned normalised), description, metadata and allow-list (returned
// canonical). Type and scopes never change.
func (in PatchInput) validate(text Unicode) (name string, allow AllowList, err error) {
	if in.Type != nil {
		return "", AllowList{}, Invalid("type", "cannot be changed; create a new key instead")
	}
	if in.Scopes != nil {
		return "", AllowList{}, Invalid("scopes", "cannot be changed; create a new key instead")
	}
	if in.Name != nil {
		if name, err = validateName(text, *in.Name); err != nil {
			return "", AllowList{}, err
		}
	}
	if in.Description != nil {
		if err := validateDescription(*in.Description); err != nil {
			return "", AllowList{}, err
		}
	}
	if in.Metadata != nil {
		if err := validateMetadata(*in.Metadata); err != nil {
			return "", AllowList{}, err
		}
	}
	if in.AllowList != nil {
		if allow, err = normalizeAllowList(text, *in.AllowList); err != nil {
			return "", AllowList{}, err
		}
	}
	return name, allow, nil
}

func requireActive(k *StoredKey, now time.Time) error {
	switch k.StatusAt(now) {
	case StatusRevoked:
		return Errorf(ECodeConflict, "the key is revoked")
	case StatusExpired:
		return Errorf(ECodeConflict, "the key has expired")
	}
	return nil
}

// RotateInput is the body of POST /v1/keys/{id}/rotate.
type RotateInput struct {
	GracePeriodSeconds *int `json:"gracePeriodSeconds"`
}

// Rotate issues a new secret for a key; the previous one keeps working for the
// grace period. The default key may be rotated, by itself only. Errors:
// invalid_request, forbidden, not_found, precondition_failed, conflict.
func (s *Service) Rotate(ctx context.Context, c Caller, id string, in RotateInput, ifMatch *int64) (*Issued, error) {
	if err := RequireScope(c, ScopeWrite); err != nil {
		return nil, err
	}
	grace := 0
	if in.GracePeriodSeconds != nil {
		grace = *in.GracePeriodSeconds
	} else if s.policies != nil {
		pol, err := s.policyFor(ctx, c.TenantID)
		if err != nil {
			return nil, err
		}
		if pol.DefaultRotationGraceSeconds != nil {
			grace = *pol.DefaultRotationGraceSeconds
		}
	}
	if grace < 0 || grace > MaxGracePeriod {
		return nil, Invalid("gracePeriodSeconds", "must be between 0 and %d", MaxGracePeriod)
	}
	var secret, token string
	k, err := s.mutate(ctx, c, id, ifMatch, func(prev, next *StoredKey, now time.Time) error {
		if err := actOn(c, prev, "rotate"); err != nil {
			return err
		}
		if prev.ID != c.KeyID {
			// Rotating hands out a credential for prev: prev must be a key
			// the caller could have created (expiry and allow-list within).
			p, err := s.principal(ctx, c, now)
			if err != nil {
				return err
			}
			pub := prev.Public(now)
			if err := checkWithin(p, &pub, "rotate"); err != nil {
				return err
			}
		}
		var err error
		secret, token, err = s.rotateSecret(ctx, prev, next, now, grace)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Issued{Key: *k, Secret: secret, Token: token}, nil
}

// rotateSecret gives next a new secret; the previous one keeps working for
// grace seconds. An inactive key is a conflict.
func (s *Service) rotateSecret(ctx context.Context, prev, next *StoredKey, now time.Time, grace int) (secret, token string, err error) {
	if err := requireActive(prev, now); err != nil {
		return "", "", err
	}
	var h Hash
	if secret, token, h, err = s.newSecret(ctx, prev.ID); err != nil {
		return "", "", err
	}
	next.SecretHash = h
	next.Hint = Hint(token)
	next.RotatedAt = &now
	next.PreviousHash, next.PreviousSecretExpiresAt = nil, nil
	if grace > 0 {
		until := now.Add(time.Duration(grace) * time.Second)
		prevHash := prev.SecretHash
		next.PreviousHash = &prevHash
		next.PreviousSecretExpiresAt = &until
	}
	return secret, token, nil
}

// Revoke revokes a key; revoking a revoked key returns it unchanged.
// Errors: forbidden, not_found, default_key_immutable.
func (s *Service) Revoke(ctx context.Context, c Caller, id string) (*Key, error) {
	if err := RequireScope(c, ScopeRevoke); err != nil {
		return nil, err
	}
	return s.revoke(ctx, c, id)
}

func (s *Service) revoke(ctx context.Context, c Caller, id string) (*Key, error) {
	k, err := s.mutate(ctx, c, id, nil, func(prev, next *StoredKey, now time.Time) error {
		if err := actOn(c, prev, "revoke"); err != nil {
			return err
		}
		if prev.Status == StatusRevoked {
			return errUnchanged
		}
		ch := c.Change()
		next.Status = StatusRevoked
		next.RevokedAt = &now
		next.RevokedBy, next.RevokedByKeyID, next.RevokedByKeyName = &ch.Actor, &ch.ActorKeyID, &ch.ActorKeyName
		next.PreviousHash, next.PreviousSecretExpiresAt = nil, nil
		next.PurgeAt = now.Add(s.cfg.RevokedRetention)
		return nil
	})
	return k, err
}

// BatchResult is the outcome of revoking one key of a batch.
type BatchResult struct {
	ID     string     `json:"id"`
	Status string     `json:"status"`
	Error  *ErrorBody `json:"error,omitempty"`
}

// BatchRevoke revokes up to MaxBatchRevoke keys, reporting each ID's own
// outcome in request order (duplicates once) and carrying on past any
// failure: a key the batch revoked before another failed stays reported as
// revoked. An internal failure of one ID is reported as code internal with a
// generic message (and logged once); the caller may retry those IDs, since
// revoking is idempotent. Errors (for the whole call): invalid_request,
// forbidden.
func (s *Service) BatchRevoke(ctx context.Context, c Caller, ids []string) ([]BatchResult, error) {
	if err := RequireScope(c, ScopeRevoke); err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > MaxBatchRevoke {
		return nil, Invalid("ids", "must list 1-%d key IDs", MaxBatchRevoke)
	}
	out := make([]BatchResult, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		k, err := s.revoke(ctx, c, id)
		if err != nil {
			out = append(out, BatchResult{ID: id, Status: "error", Error: batchError(ctx, id, err)})
			continue
		}
		out = append(out, BatchResult{ID: id, Status: string(k.Status)})
	}
	return out, nil
}

// batchError is the public form of one batch ID's failure. An internal
// error's text stays in the log (one line), never in the answer.
func batchError(ctx context.Context, id string, err error) *ErrorBody {
	if e, ok := AsError(err); ok && e.Code != ECodeInternal {
		if e.Code == ECodeUnavailable {
			slog.Default().LogAttrs(ctx, slog.LevelWarn, "batch revoke: key not revoked",
				slog.String("keyId", id), slog.String("code", string(e.Code)))
		}
		b := e.Public()
		return &b
	}
	slog.Default().LogAttrs(ctx, slog.LevelError, "batch revoke: key not revoked",
		slog.String("keyId", id), slog.String("error", err.Error()))
	return &ErrorBody{Code: string(ECodeInternal), Message: InternalMessage}
}

var errUnchanged = errors.New("unchanged")

// maxAttempts bounds retries of an optimistic write without If-Match.
const maxAttempts = 4

// mutate reads a key, lets edit build its next version and writes it on the
// condition that the stored version has not moved. Without If-Match a lost
// race is retried on fresh data; with it, the caller gets precondition_failed.
func (s *Service) mutate(ctx context.Context, c Caller, id string, ifMatch *int64,
	edit func(prev, next *StoredKey, now time.Time) error) (*Key, error) {
	return s.mutateFrom(ctx, c, id, ifMatch, nil, true, edit)
}

// mutateFrom is mutate whose first attempt starts from first, the key of
// c's tenant as just read with a consistent read (nil: read it; a stale one
// only loses the write's condition and is read again), and whose answer
// carries lastUsedAt only when fill is set.
func (s *Service) mutateFrom(ctx context.Context, c Caller, id string, ifMatch *int64, first *StoredKey, fill bool,
	edit func(prev, next *StoredKey, now time.Time) error) (*Key, error) {
	for attempt := 1; ; attempt++ {
		prev, err := first, error(nil)
		if first = nil; prev == nil || prev.ID != id || prev.TenantID != c.TenantID {
			prev, err = s.load(ctx, c, id)
		}
		if err != nil {
			return nil, err
		}
		if ifMatch != nil && *ifMatch != prev.Version {
			return nil, ErrPrecondition
		}
		now := s.clock()
		next := prev.Clone()
		if err := edit(prev, next, now); err != nil {
			if errors.Is(err, errUnchanged) {
				pub := prev.Public(now)
				return &pub, nil
			}
			return nil, err
		}
		next.Change = c.Change()
		if next.Name != prev.Name || next.NameKey == "" {
			if next.NameKey, err = s.nameKey(next.Name); err != nil {
				return nil, err
			}
		}
		next.UpdatedAt, next.Version = now, prev.Version+1
		next.UpdatedBy, next.UpdatedByKeyID, next.UpdatedByKeyName = next.Change.Actor, next.Change.ActorKeyID, next.Change.ActorKeyName
		err = s.store.UpdateKey(ctx, prev, next)
		if err == nil {
			// The write has committed: nothing after it may turn it into a
			// failure. lastUsedAt only decorates the answer; without it the
			// answer still carries the change (and a rotation's new secret).
			pub := next.Public(now)
			if !fill {
				return &pub, nil
			}
			if err := s.fillLastUsed(ctx, []*Key{&pub}); err != nil {
				slog.Default().LogAttrs(ctx, slog.LevelWarn, "lastUsedAt left out of a committed write's answer",
					slog.String("keyId", id), slog.String("error", err.Error()))
			}
			return &pub, nil
		}
		if ErrorCode(err) != ECodeConflict {
			return nil, err
		}
		if ifMatch != nil {
			return nil, ErrPrecondition
		}
		if attempt == maxAttempts {
			return nil, err
		}
	}
}
