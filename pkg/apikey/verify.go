package apikey

import (
	"context"
	"time"
)

// VerifyCode is the outcome of checking a credential (POST /v1/verify and the authorizer).
type VerifyCode string

// Verification outcomes.
const (
	CodeValid         VerifyCode = "VALID"
	CodeNotFound      VerifyCode = "NOT_FOUND"
	CodeRevoked       VerifyCode = "REVOKED"
	CodeExpired       VerifyCode = "EXPIRED"
	CodeInvalidSecret VerifyCode = "INVALID_SECRET"
	CodeMalformed     VerifyCode = "MALFORMED"
	// CodeTenantSuspended: the key's tenant is suspended; every key of it is refused.
	CodeTenantSuspended VerifyCode = "TENANT_SUSPENDED"
)

// KeyGetter reads a key by ID; Store satisfies it, and the authorizer puts a
// cache in front of it.
type KeyGetter interface {
	GetKey(ctx context.Context, id string) (*StoredKey, error)
}

// dummyHash is compared against when a key is unknown, so an unknown key and
// a wrong secret take the same path up to the constant-time compare.
var dummyHash = Hash{Version: 1, Sum: make([]byte, 32)}

// Verify decides the verdict for secret presented for k, the stored key (nil
// when there is none), at now: it matches the current secret, or the previous
// one until its grace period ends. A wrong secret is reported before the
// key's state, so only a holder of the secret learns that a key is revoked
// or expired. Callers do their own lookups; errors come from the hasher only.
func Verify(ctx context.Context, hasher Hasher, k *StoredKey, secret string, now time.Time) (VerifyCode, error) {
	h := dummyHash
	if k != nil {
		h = k.SecretHash
	}
	ok, err := hasher.Verify(ctx, []byte(secret), h)
	if err != nil {
		return "", err
	}
	if k != nil && !ok && k.PreviousHash != nil && k.PreviousSecretExpiresAt != nil && now.Before(*k.PreviousSecretExpiresAt) {
		if ok, err = hasher.Verify(ctx, []byte(secret), *k.PreviousHash); err != nil {
			return "", err
		}
	}
	switch {
	case k == nil:
		return CodeNotFound, nil
	case !ok:
		return CodeInvalidSecret, nil
	case k.Status == StatusRevoked:
		return CodeRevoked, nil
	case k.TenantSuspended:
		return CodeTenantSuspended, nil
	case k.StatusAt(now) == StatusExpired:
		return CodeExpired, nil
	}
	return CodeValid, nil
}

// LookupKey reads a key for verification: nil, without error, when there is
// no such key. Errors are store failures only.
func LookupKey(ctx context.Context, keys KeyGetter, id string) (*StoredKey, error) {
	k, err := keys.GetKey(ctx, id)
	switch {
	case err == nil:
		return k, nil
	case ErrorCode(err) == ECodeNotFound:
		return nil, nil
	}
	return nil, err
}

// Verify checks a key ID and secret with the service's store and clock. The
// key is returned for the verdicts that concern it (valid, revoked,
// expired), never for a wrong secret.
func (s *Service) Verify(ctx context.Context, keyID, secret string) (*StoredKey, VerifyCode, error) {
	k, err := LookupKey(ctx, s.store, keyID)
	if err != nil {
		return nil, "", err
	}
	code, err := Verify(ctx, s.hasher, k, secret, s.now())
	if err != nil || code == CodeNotFound || code == CodeInvalidSecret {
		return nil, code, err
	}
	return k, code, nil
}
