package apikey

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// LeakAction is what happens to a key reported leaked.
type LeakAction string

// Leak actions: revoke at once (the default), or flag the key and tell.
const (
	LeakRevoke LeakAction = "revoke"
	LeakFlag   LeakAction = "flag"
)

// Policy limits and defaults.
const (
	MaxLifetimeDaysLimit = 3650
	DefaultUnusedDays    = 90
	MaxReminderDays      = 365
	// MaxExpiringDays bounds expiringDays, so the reminders job reads a
	// bounded number of day partitions.
	MaxExpiringDays = 90
)

// DefaultExpiringDays are the reminders before expiry of a tenant with no policy.
var DefaultExpiringDays = []int{30, 7, 1}

// Policy is a tenant's key policy: what create and edit enforce, the leak
// action, and the reminder thresholds. Zero values mean "no rule".
type Policy struct {
	// MaxLifetimeDays bounds expiresAt from now; a key created without an
	// expiry gets the maximum. Nil: no bound.
	MaxLifetimeDays *int `json:"maxLifetimeDays"`
	// RequireExpiry refuses keys without expiresAt (when no maximum applies).
	RequireExpiry bool `json:"requireExpiry"`
	// AllowedTypes, when set, are the only types keys may have.
	AllowedTypes []string `json:"allowedTypes"`
	// DefaultRotationGraceSeconds is the grace of a rotation that names none.
	DefaultRotationGraceSeconds *int `json:"defaultRotationGraceSeconds"`
	// RequireAllowList refuses keys without an IP or origin allow-list.
	RequireAllowList bool `json:"requireAllowList"`
	// LeakAction is revoke (default) or flag.
	LeakAction LeakAction `json:"leakAction"`
	// ExpiringDays are the key.expiring reminders, days before expiry.
	ExpiringDays []int `json:"expiringDays"`
	// UnusedDays is when an active key unused for that long is key.unused.
	UnusedDays int `json:"unusedDays"`

	Version   int64      `json:"version"`
	UpdatedAt *time.Time `json:"updatedAt"`
	UpdatedBy *string    `json:"updatedBy"`
}

// DefaultPolicy is the policy of a tenant that never set one.
func DefaultPolicy() Policy {
	return Policy{
		AllowedTypes: []string{}, LeakAction: LeakRevoke,
		ExpiringDays: slices.Clone(DefaultExpiringDays), UnusedDays: DefaultUnusedDays,
	}
}

// PolicyStore persists tenant policies.
type PolicyStore interface {
	// GetPolicy returns the tenant's policy, DefaultPolicy when none is stored.
	GetPolicy(ctx context.Context, tenant string) (Policy, error)
	// PutPolicy stores p as version p.Version, written only over version
	// p.Version-1 (0: none stored); else ErrConflict.
	PutPolicy(ctx context.Context, tenant string, p Policy, ch Change) error
}

// WithPolicies makes create, edit and rotate enforce each tenant's policy.
func WithPolicies(p PolicyStore) Option { return func(s *Service) { s.policies = p } }

// Validate checks a policy as sent by PUT /v1/policy and fills defaults.
// Errors: invalid_request naming the field.
func (p *Policy) Validate(keyTypes []string) error {
	if p.MaxLifetimeDays != nil && (*p.MaxLifetimeDays < 1 || *p.MaxLifetimeDays > MaxLifetimeDaysLimit) {
		return Invalid("maxLifetimeDays", "must be between 1 and %d, or null", MaxLifetimeDaysLimit)
	}
	if p.AllowedTypes == nil {
		p.AllowedTypes = []string{}
	}
	for _, t := range p.AllowedTypes {
		if err := validateType(t, keyTypes); err != nil {
			return Invalid("allowedTypes", "%q is not a valid key type", t)
		}
	}
	if g := p.DefaultRotationGraceSeconds; g != nil && (*g < 0 || *g > MaxGracePeriod) {
		return Invalid("defaultRotationGraceSeconds", "must be between 0 and %d, or null", MaxGracePeriod)
	}
	switch p.LeakAction {
	case "":
		p.LeakAction = LeakRevoke
	case LeakRevoke, LeakFlag:
	default:
		return Invalid("leakAction", "must be revoke or flag")
	}
	if p.ExpiringDays == nil {
		p.ExpiringDays = slices.Clone(DefaultExpiringDays)
	}
	if len(p.ExpiringDays) > 5 {
		return Invalid("expiringDays", "may hold at most 5 thresholds")
	}
	for _, d := range p.ExpiringDays {
		if d < 1 || d > MaxExpiringDays {
			return Invalid("expiringDays", "each threshold must be between 1 and %d days", MaxExpiringDays)
		}
	}
	slices.Sort(p.ExpiringDays)
	slices.Reverse(p.ExpiringDays)
	p.ExpiringDays = slices.Compact(p.ExpiringDays)
	if p.UnusedDays == 0 {
		p.UnusedDays = DefaultUnusedDays
	}
	if p.UnusedDays < 1 || p.UnusedDays > MaxReminderDays {
		return Invalid("unusedDays", "must be between 1 and %d", MaxReminderDays)
	}
	return nil
}

// policyFor returns the tenant's policy, or DefaultPolicy without a store.
func (s *Service) policyFor(ctx context.Context, tenant string) (Policy, error) {
	if s.policies == nil {
		return DefaultPolicy(), nil
	}
	return s.policies.GetPolicy(ctx, tenant)
}

// applyPolicy enforces p on a key being created: its type, its allow-list
// and its expiry (which defaults to the maximum lifetime). Errors name the
// field and the rule.
func applyPolicy(p Policy, k *Key, now time.Time) error {
	if len(p.AllowedTypes) > 0 && !slices.Contains(p.AllowedTypes, k.Type) {
		return Invalid("type", "the tenant's policy (allowedTypes) allows only %v", p.AllowedTypes)
	}
	if err := policyAllowList(p, k); err != nil {
		return err
	}
	if p.MaxLifetimeDays != nil && k.ExpiresAt == nil {
		limit := now.Add(time.Duration(*p.MaxLifetimeDays) * 24 * time.Hour)
		k.ExpiresAt = &limit
	}
	return policyExpiry(p, k, now)
}

// policyAllowList enforces requireAllowList.
func policyAllowList(p Policy, k *Key) error {
	if p.RequireAllowList && len(k.AllowList.IPs) == 0 && len(k.AllowList.Origins) == 0 {
		return Invalid("allowList", "the tenant's policy (requireAllowList) requires IPs or origins")
	}
	return nil
}

// policyExpiry enforces maxLifetimeDays and requireExpiry.
func policyExpiry(p Policy, k *Key, now time.Time) error {
	if p.MaxLifetimeDays != nil {
		limit := now.Add(time.Duration(*p.MaxLifetimeDays) * 24 * time.Hour)
		if k.ExpiresAt == nil || k.ExpiresAt.After(limit) {
			return Invalid("expiresAt", "the tenant's policy (maxLifetimeDays) requires expiry within %d days", *p.MaxLifetimeDays)
		}
	}
	if p.RequireExpiry && k.ExpiresAt == nil {
		return Invalid("expiresAt", "the tenant's policy (requireExpiry) requires an expiry")
	}
	return nil
}

// GetPolicy returns the caller's tenant policy (keys:admin).
// Errors: forbidden.
func (s *Service) GetPolicy(ctx context.Context, c Caller) (Policy, error) {
	if err := RequireScope(c, ScopeAdmin); err != nil {
		return Policy{}, err
	}
	return s.policyFor(ctx, c.TenantID)
}

// PutPolicy replaces the caller's tenant policy (keys:admin). ifMatch, when
// set, must be the current version. Errors: invalid_request, forbidden,
// precondition_failed, conflict (a concurrent change).
func (s *Service) PutPolicy(ctx context.Context, c Caller, in Policy, ifMatch *int64) (Policy, error) {
	if err := RequireScope(c, ScopeAdmin); err != nil {
		return Policy{}, err
	}
	if s.policies == nil {
		return Policy{}, Errorf(ECodeInternal, "no policy store")
	}
	if err := in.Validate(s.cfg.KeyTypes); err != nil {
		return Policy{}, err
	}
	cur, err := s.policies.GetPolicy(ctx, c.TenantID)
	if err != nil {
		return Policy{}, err
	}
	if ifMatch != nil && *ifMatch != cur.Version {
		return Policy{}, Errorf(ECodePreconditionFailed, "the policy is at version %d", cur.Version)
	}
	now := s.clock()
	in.Version, in.UpdatedAt, in.UpdatedBy = cur.Version+1, &now, &c.KeyID
	if err := s.policies.PutPolicy(ctx, c.TenantID, in, c.Change()); err != nil {
		return Policy{}, err
	}
	return in, nil
}

var expiresInPattern = regexp.MustCompile(`^([1-9][0-9]{0,5})([dhm])$`)

// resolveExpiry turns expiresAt or expiresIn ("90d", "12h", "30m") into a
// time; giving both is refused.
func resolveExpiry(at, in *string, now time.Time) (*time.Time, error) {
	if at != nil && in != nil {
		return nil, Invalid("expiresIn", "give expiresAt or expiresIn, not both")
	}
	if at != nil {
		t, err := parseExpiresAt(*at, now)
		return &t, err
	}
	if in == nil {
		return nil, nil
	}
	m := expiresInPattern.FindStringSubmatch(*in)
	if m == nil {
		return nil, Invalid("expiresIn", "must be a whole number of days, hours or minutes such as 90d, 12h or 30m")
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"d": 24 * time.Hour, "h": time.Hour, "m": time.Minute}[m[2]]
	if time.Duration(n)*unit > MaxLifetimeDaysLimit*24*time.Hour {
		return nil, Invalid("expiresIn", "may be at most %d days", MaxLifetimeDaysLimit)
	}
	t := now.Add(time.Duration(n) * unit)
	return &t, nil
}
