// Package apikey is keyward's domain: keys, their validation, the token
// format, scopes and the lifecycle service. It has no AWS imports; storage
// and KMS live behind the Store and Hasher interfaces.
package apikey

import (
	"maps"
	"slices"
	"time"
)

// Status is a key's state. StatusExpired is derived from ExpiresAt, never stored.
type Status string

// Key states.
const (
	StatusActive  Status = "active"
	StatusRevoked Status = "revoked"
	StatusExpired Status = "expired"
)

// AllowList restricts where a key may be used from. Empty lists allow everything.
type AllowList struct {
	IPs     []string `json:"ips"`
	Origins []string `json:"origins"`
}

// Key is the public key resource. It never holds secret material.
type Key struct {
	ID                      string            `json:"id"`
	TenantID                string            `json:"tenantId"`
	Name                    string            `json:"name"`
	Description             string            `json:"description"`
	Type                    string            `json:"type"`
	Scopes                  []string          `json:"scopes"`
	AllowList               AllowList         `json:"allowList"`
	Metadata                map[string]string `json:"metadata"`
	Status                  Status            `json:"status"`
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
	// Leak is set when a secret scanning service reported the key's token
	// in public (POST /v1/leaks); null otherwise.
	Leak    *Leak `json:"leak"`
	Version int64 `json:"version"`
}

// Leak is where and when a key's token was reported leaked.
type Leak struct {
	ReportedAt time.Time `json:"reportedAt"`
	URL        string    `json:"url"`
	Source     string    `json:"source"`
}

// StatusAt returns the key's effective status at now: an active key whose
// expiry has been reached is expired (exact to the instant).
func (k *Key) StatusAt(now time.Time) Status {
	if k.Status == StatusActive && k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return StatusExpired
	}
	return k.Status
}

// Change says who made a write and from where; every stored write carries it
// so the table's stream can be turned into an audit trail. Actor is the
// person a key asserted (Keyward-Actor), else the key's ID (or a system
// actor); ActorKeyID and ActorKeyName are the calling key and its name at
// the time ("" for a write no key made).
type Change struct {
	Actor        string
	ActorKeyID   string
	ActorKeyName string
	RequestID    string
	SourceIP     string
}

// StoredKey is a key as persisted: the resource, its peppered secret hashes and
// the change that produced this version.
type StoredKey struct {
	Key
	SecretHash   Hash
	PreviousHash *Hash
	// PurgeAt is when DynamoDB TTL may delete a revoked key (zero while active).
	PurgeAt time.Time
	Change  Change
	// TenantSuspended is read with the key (never stored in its item): the
	// key's tenant is suspended, so the key is refused whatever its state.
	TenantSuspended bool
	// NameKey is Name's comparison form (Unicode.NameKey): set by the service
	// whenever it writes a key, read back by the store's GetKey. The store
	// indexes and claims it, so stores need no Unicode tables, and a key's
	// claim is released under the form it was taken with.
	NameKey string
	// IdleCheckAt is when the reminders job next checks the key for disuse
	// (key.unused); zero means a day after creation.
	IdleCheckAt time.Time
}

// Clone returns a deep copy, so a next version can be built from a previous one.
func (s *StoredKey) Clone() *StoredKey {
	c := *s
	c.Scopes = slices.Clone(s.Scopes)
	c.AllowList.IPs = slices.Clone(s.AllowList.IPs)
	c.AllowList.Origins = slices.Clone(s.AllowList.Origins)
	c.Metadata = maps.Clone(s.Metadata)
	c.RevokedBy = clonePtr(s.RevokedBy)
	c.RevokedByKeyID = clonePtr(s.RevokedByKeyID)
	c.RevokedByKeyName = clonePtr(s.RevokedByKeyName)
	c.SecretHash.Sum = slices.Clone(s.SecretHash.Sum)
	if s.PreviousHash != nil {
		p := *s.PreviousHash
		p.Sum = slices.Clone(p.Sum)
		c.PreviousHash = &p
	}
	return &c
}

// Public returns the key resource with the effective status at now.
func (s *StoredKey) Public(now time.Time) Key {
	k := s.Clone().Key
	k.Status = s.StatusAt(now)
	if k.Scopes == nil {
		k.Scopes = []string{}
	}
	if k.AllowList.IPs == nil {
		k.AllowList.IPs = []string{}
	}
	if k.AllowList.Origins == nil {
		k.AllowList.Origins = []string{}
	}
	if k.Metadata == nil {
		k.Metadata = map[string]string{}
	}
	return k
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
