package apikey

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"time"
)

// A create is judged against the tenant's policy and the calling key as
// stored (active, its tenant not suspended, its scopes, expiry and
// allow-list). Over a GuardedStore it does not read them before its
// transaction: it assumes them (what this container last read, else the
// default policy and a caller bound by nothing but its scopes) and the store
// checks, in that same transaction, that they hold. Only when a check fails
// are they read (consistently) and the create judged again on what was read.
// Either way the key is written only if, when the transaction commits, the
// caller and the policy are what it was judged against: a key revoked,
// narrowed or expired a moment ago creates nothing.

// maxCreateWrites bounds a create's transactions: one on assumptions, one
// judged on a fresh read, and a last one, after another fresh read, without
// the checks (the caller's key or the policy changed under two transactions
// in a row, or other transactions kept holding their items).
const maxCreateWrites = 3

// basis is what a create is judged against.
type basis struct {
	policy Policy
	caller Principal
	// fresh says both were read for this create; else they are assumed.
	fresh bool
}

// create judges draft (a validated request) and issues it, as above.
func (s *Service) create(ctx context.Context, c Caller, draft *StoredKey, now time.Time) (*Issued, error) {
	gs, guarded := s.guardedStore()
	var b basis
	var err error
	// A platform key acting in a tenant reads first, as its create reads the
	// tenant anyway.
	if guarded && !c.Acting() {
		b = s.assume(c)
	} else if b, err = s.read(ctx, c, now); err != nil {
		return nil, err
	}
	tenantChecked := !c.Acting()
	for writes := 1; ; {
		k := draft.Clone()
		if err := judge(b, k, now); err != nil {
			if b.fresh {
				return nil, err
			}
			// Refused on assumptions: decide on what is stored.
			if b, err = s.read(ctx, c, now); err != nil {
				return nil, err
			}
			continue
		}
		if !tenantChecked {
			if err := s.requireTenant(ctx, c.TenantID); err != nil {
				return nil, err
			}
			tenantChecked = true
		}
		iss, err := s.issueWith(ctx, k, c.Change(), now, func(k *StoredKey) error {
			if !guarded || writes == maxCreateWrites {
				return s.store.CreateKey(ctx, k)
			}
			return gs.CreateKeyGuarded(ctx, k, b.callerCheck(c, k, now), s.policyCheck(c, b))
		})
		if !errors.Is(err, ErrCallerChanged) && !errors.Is(err, ErrPolicyChanged) {
			return iss, err
		}
		writes++
		if b, err = s.read(ctx, c, now); err != nil {
			return nil, err
		}
	}
}

// judge applies b's policy to k and refuses k if b's caller could not have
// created it.
func judge(b basis, k *StoredKey, now time.Time) error {
	if err := applyPolicy(b.policy, &k.Key, now); err != nil {
		return err
	}
	return checkWithin(b.caller, &k.Key, "create")
}

// guardedStore returns the store as a GuardedStore when one transaction can
// check both the caller and the policy: the policies, if any, are kept by the
// key store itself.
func (s *Service) guardedStore() (GuardedStore, bool) {
	gs, ok := s.store.(GuardedStore)
	if !ok || (s.policies != nil && !samePointer(s.policies, s.store)) {
		return nil, false
	}
	return gs, true
}

func samePointer(a, b any) bool { return reflect.ValueOf(a).Kind() == reflect.Pointer && a == b }

// assume is the basis this container last read, else the default policy
// and a caller bound by its scopes alone (whose expiry the store checks
// against the new key's, and which must have no allow-list).
func (s *Service) assume(c Caller) basis {
	b := basis{policy: DefaultPolicy(), caller: Principal{ID: c.KeyID, Scopes: c.Scopes}}
	if p, ok := s.hints.policy(c.TenantID); ok {
		b.policy = p
	}
	if p, ok := s.hints.caller(c.KeyID); ok {
		b.caller = p
	}
	return b
}

// read reads the tenant's policy and the calling key (consistent reads) and
// remembers them for the container's next creates.
func (s *Service) read(ctx context.Context, c Caller, now time.Time) (basis, error) {
	pol, err := s.policyFor(ctx, c.TenantID)
	if err != nil {
		return basis{}, err
	}
	p, err := s.principal(ctx, c, now)
	if err != nil {
		s.hints.forget(c.KeyID)
		return basis{}, err
	}
	if s.policies != nil {
		s.hints.rememberPolicy(c.TenantID, pol)
	}
	s.hints.rememberCaller(p)
	return basis{policy: pol, caller: p, fresh: true}, nil
}

// callerCheck is what the store checks of the caller for k: the version read
// if b was read (or remembered), else the assumptions.
func (b basis) callerCheck(c Caller, k *StoredKey, now time.Time) CallerCheck {
	cc := CallerCheck{KeyID: c.KeyID, TenantID: c.HomeTenant(), At: now, Version: b.caller.Version}
	if cc.Version == 0 {
		cc.Scopes, cc.Until = c.Scopes, k.ExpiresAt
	}
	return cc
}

func (s *Service) policyCheck(c Caller, b basis) *PolicyCheck {
	if s.policies == nil {
		return nil
	}
	return &PolicyCheck{TenantID: c.TenantID, Version: b.policy.Version}
}

// hints are what this container last read for creates: tenants' policies,
// and the calling keys with an allow-list (which a store check does not
// express, so their creates check the version read). A create assumes them;
// a stale hint costs a read, never a wrong decision, as the create's
// transaction checks what it assumed.
type hints struct {
	mu       sync.Mutex
	policies map[string]Policy
	callers  map[string]Principal
}

// maxHints bounds each map of hints; a full map starts afresh.
const maxHints = 4096

func (h *hints) policy(tenant string) (Policy, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.policies[tenant]
	return p, ok
}

func (h *hints) caller(id string) (Principal, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.callers[id]
	return p, ok
}

func (h *hints) rememberPolicy(tenant string, p Policy) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.policies == nil || len(h.policies) >= maxHints {
		h.policies = map[string]Policy{}
	}
	h.policies[tenant] = p
}

// rememberCaller keeps p if it has an allow-list, else forgets its key.
func (h *hints) rememberCaller(p Principal) {
	if len(p.AllowList.IPs) == 0 && len(p.AllowList.Origins) == 0 {
		h.forget(p.ID)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.callers == nil || len(h.callers) >= maxHints {
		h.callers = map[string]Principal{}
	}
	h.callers[p.ID] = p
}

func (h *hints) forget(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.callers, id)
}
