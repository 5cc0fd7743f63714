package apikey

import (
	"context"
	"time"
)

// Unicode is the Unicode processing the service applies to what people type.
// Its rules need large tables (normalisation, case folding, confusables,
// IDNA), so the domain declares what it needs and package unicoderules
// provides it: only the functions that validate names and allow-lists link
// the tables, while the authorizer and the stores work with the stored forms.
type Unicode interface {
	// NFC is s in Unicode Normalization Form C.
	NFC(s string) string
	// NameKey is the form of a key name that uniqueness and name search
	// compare: two active keys of a tenant never share one, and a search for
	// q matches the names whose NameKey starts with NameKey(q). It folds case,
	// compatibility and confusable spellings together and is idempotent.
	NameKey(name string) string
	// HostToASCII is an internationalised host name in its ASCII (punycode)
	// form; false when it is not a valid name.
	HostToASCII(host string) (string, bool)
}

// Hash is a peppered secret hash and the pepper version that produced it.
type Hash struct {
	Version int
	Sum     []byte
}

// Hasher peppers secrets: HMAC-SHA256 keyed by a KMS-protected data key.
// Implementations decrypt each pepper version once and keep it in memory.
type Hasher interface {
	// Hash returns HMAC-SHA256(pepper_current, secret) and the current version.
	Hash(ctx context.Context, secret []byte) (Hash, error)
	// Verify reports, in constant time, whether secret matches h under h.Version.
	Verify(ctx context.Context, secret []byte, h Hash) (bool, error)
	// MAC returns an HMAC-SHA256 of data under a key derived from the oldest
	// pepper version and purpose, so MACs stay valid when versions are added.
	MAC(ctx context.Context, purpose string, data []byte) ([]byte, error)
}

// PepperRecord is one pepper version as stored: only the KMS ciphertext of the
// data key, never its plaintext.
type PepperRecord struct {
	Version    int
	Ciphertext []byte
	KMSKeyID   string
	CreatedAt  time.Time
}

// PepperStore persists pepper ciphertexts.
type PepperStore interface {
	// ListPeppers returns every stored pepper version, oldest first.
	ListPeppers(ctx context.Context) ([]PepperRecord, error)
	// PutPepper stores rec unless its version exists; then it returns ErrConflict.
	PutPepper(ctx context.Context, rec PepperRecord) error
}

// ListQuery selects a tenant's keys for listing and search.
type ListQuery struct {
	TenantID   string
	Status     Status // "" for any
	Type       string // "" for any
	NamePrefix string // case-insensitive name prefix; "" for none
	Limit      int
	// After is the store's own continuation token from a previous page ("" for the first).
	After string
	// Now decides which active keys count as expired.
	Now time.Time
}

// Store persists keys. Implementations enforce every invariant with
// conditional writes and transactions, never with read-then-write.
type Store interface {
	// CreateKey writes k with the claim on its name (and, when k.IsDefault, the
	// tenant's default-key claim) atomically. Returns ErrNameTaken or ErrTenantExists.
	CreateKey(ctx context.Context, k *StoredKey) error
	// GetKey returns a key by ID, whatever its tenant. Returns ErrNotFound.
	GetKey(ctx context.Context, id string) (*StoredKey, error)
	// UpdateKey replaces prev by next if the stored version still equals
	// prev.Version, moving the name claim atomically when the claimed name
	// changes (a claim is held while a key is active). Returns ErrConflict when
	// the version moved, ErrNameTaken when the new name is claimed.
	UpdateKey(ctx context.Context, prev, next *StoredKey) error
	// ListKeys returns up to q.Limit keys, newest first, and a continuation token ("" at the end).
	ListKeys(ctx context.Context, q ListQuery) ([]*StoredKey, string, error)
	// LastUsed returns when each of the given keys was last used, where known.
	LastUsed(ctx context.Context, ids []string) (map[string]time.Time, error)
}

// CallerCheck is what the calling key must still be, as stored, when a create
// commits: active and unexpired at At, in its own tenant TenantID (which is
// not suspended), and as the create judged it.
type CallerCheck struct {
	KeyID, TenantID string
	At              time.Time
	// Version, when not 0, is the stored version the create judged the key
	// at; the key must still be at it, and the fields below are unused.
	// Otherwise the key must hold Scopes, expire no earlier than Until (nil:
	// never expire) and have no allow-list.
	Version int64
	Scopes  []string
	Until   *time.Time
}

// PolicyCheck is the version of the tenant's policy a create applied (0:
// none stored, the default policy); it must still be the stored one when the
// create commits.
type PolicyCheck struct {
	TenantID string
	Version  int64
}

// GuardedStore is a Store whose creates check, in their own transaction, the
// caller and the policy they were judged against, so the service need not
// read them first.
type GuardedStore interface {
	// CreateKeyGuarded is CreateKey on the condition that the calling key is
	// as caller says and, when policy is not nil, that the tenant's policy is
	// at policy.Version. Besides CreateKey's errors it returns
	// ErrCallerChanged or ErrPolicyChanged when one does not hold (or another
	// transaction holds its item, so it cannot tell); nothing is written then.
	CreateKeyGuarded(ctx context.Context, k *StoredKey, caller CallerCheck, policy *PolicyCheck) error
}
