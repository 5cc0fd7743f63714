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

// Verify checks a key ID and secret at now: the current secret, or the
// previous one until its grace period ends. A wrong secret is reported before
// the key's state, so only a holder of the secret learns that a key is
// revoked or expired. Errors are infrastructure failures only.
func Verify(ctx context.Context, keys KeyGetter, hasher Hasher, keyID, secret string, now time.Time) (*StoredKey, VerifyCode, error) {
	k, err := keys.GetKey(ctx, keyID)
	found := true
	if err != nil {
		if ErrorCode(err) != ECodeNotFound {
			return nil, "", err
		}
		found = false
	}
	h := dummyHash
	if found {
		h = k.SecretHash
	}
	ok, err := hasher.Verify(ctx, []byte(secret), h)
	if err != nil {
		return nil, "", err
	}
	if found && !ok && k.PreviousHash != nil && k.PreviousSecretExpiresAt != nil && now.Before(*k.PreviousSecretExpiresAt) {
		if ok, err = hasher.Verify(ctx, []byte(secret), *k.PreviousHash); err != nil {
			return nil, "", err
		}
	}
	switch {
	case !found:
		return nil, CodeNotFound, nil
	case !ok:
		return nil, CodeInvalidSecret, nil
	case k.Status == StatusRevoked:
		return k, CodeRevoked, nil
	case k.TenantSuspended:
		return k, CodeTenantSuspended, nil
	case k.StatusAt(now) == StatusExpired:
		return k, CodeExpired, nil
	}
	return k, CodeValid, nil
}

// Verify checks a key ID and secret with the service's store and clock.
func (s *Service) Verify(ctx context.Context, keyID, secret string) (*StoredKey, VerifyCode, error) {
	return Verify(ctx, s.store, s.hasher, keyID, secret, s.now())
}
