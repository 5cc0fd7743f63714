package apikey

import (
	"context"
	"time"
)

// ActorLeakReport is the actor of the writes a leak report makes.
const ActorLeakReport = "system:leak-report"

// LeakOutcome is what a reported token turned out to be and what was done.
type LeakOutcome struct {
	// TruePositive: the token is one of keyward's keys, secret and all.
	TruePositive bool
	// Key is the reported key (nil for a false positive).
	Key *Key
	// Action is what the tenant's policy did: revoke or flag ("" when the
	// key was already revoked or no action applies).
	Action LeakAction
}

// ReportLeak handles one token reported leaked by a secret scanning service.
// The report's text is never trusted: the token must parse (prefix and
// checksum) and its secret must match the stored key (one read, one HMAC);
// anything else is a false positive that changes nothing. A true positive
// is flagged on the key (leak: reportedAt, url, source: the stream makes it
// key.leaked) and, under the tenant's leakAction revoke (the default),
// revoked at once. A tenant's default key is flagged only: it is never
// revoked through the API. Errors are infrastructure failures only.
func (s *Service) ReportLeak(ctx context.Context, token, url, source string) (LeakOutcome, error) {
	keyID, secret, err := ParseToken(s.cfg.TokenPrefix, token)
	if err != nil {
		return LeakOutcome{}, nil
	}
	now := s.clock()
	stored, code, err := s.Verify(ctx, keyID, secret)
	if err != nil {
		return LeakOutcome{}, err
	}
	switch code {
	case CodeValid, CodeExpired, CodeRevoked, CodeTenantSuspended: // ours, secret and all
	default:
		return LeakOutcome{}, nil
	}
	out := LeakOutcome{TruePositive: true}
	c := Caller{TenantID: stored.TenantID, KeyID: ActorLeakReport}
	leak := &Leak{ReportedAt: now, URL: truncateRunes(url, 2048), Source: truncateRunes(source, 64)}
	// The tenant's policy (what to do next) is read beside the flag's write.
	type policyRead struct {
		p   Policy
		err error
	}
	policy := make(chan policyRead, 1)
	go func() { p, err := s.policyFor(ctx, stored.TenantID); policy <- policyRead{p, err} }()
	// The writes start from the key just verified, and their answers (logged
	// by ID) carry no lastUsedAt: a true positive costs its read, the flag's
	// write and the revocation's read and write.
	k, err := s.mutateFrom(ctx, c, keyID, nil, stored, false, func(prev, next *StoredKey, _ time.Time) error {
		if prev.Leak != nil {
			return errUnchanged // reported before: the first report stands
		}
		next.Leak = leak
		return nil
	})
	pr := <-policy
	if err != nil {
		return LeakOutcome{}, err
	}
	out.Key = k
	if k.Status == StatusRevoked {
		return out, nil
	}
	pol, err := pr.p, pr.err
	if err != nil {
		return LeakOutcome{}, err
	}
	out.Action = LeakFlag
	if pol.LeakAction != LeakFlag && !k.IsDefault {
		if k, err = s.mutateFrom(ctx, c, keyID, nil, nil, false, func(prev, next *StoredKey, now time.Time) error {
			if prev.Status == StatusRevoked {
				return errUnchanged
			}
			actor := ActorLeakReport
			next.Status, next.RevokedAt, next.RevokedBy = StatusRevoked, &now, &actor
			next.PreviousHash, next.PreviousSecretExpiresAt = nil, nil
			next.PurgeAt = now.Add(s.cfg.RevokedRetention)
			return nil
		}); err != nil {
			return LeakOutcome{}, err
		}
		out.Key, out.Action = k, LeakRevoke
	}
	return out, nil
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
