// Package leaks serves POST /v1/leaks, the endpoint of GitHub's secret
// scanning partner protocol: GitHub (or any scanner speaking the protocol)
// posts the tokens it found in public, signed with ECDSA (P-256, SHA-256,
// ASN.1 signature, base64) by a key it publishes; keyward verifies the
// signature against the signing keys configured for the stack, checks each
// token itself, answers each with a label (true_positive or
// false_positive) and applies the tenant's leak action.
package leaks

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// publicKeys is the document GitHub publishes its signing keys in
// (https://api.github.com/meta/public_keys/secret_scanning).
type publicKeys struct {
	PublicKeys []struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
	} `json:"public_keys"`
}

// ParseKeys reads signing keys from GitHub's document: each key's identifier
// and its PEM-encoded ECDSA public key. Keys of another kind are refused.
func ParseKeys(doc []byte) (map[string]*ecdsa.PublicKey, error) {
	var pk publicKeys
	if err := json.Unmarshal(doc, &pk); err != nil {
		return nil, fmt.Errorf("leak signing keys: not a public_keys document: %w", err)
	}
	out := map[string]*ecdsa.PublicKey{}
	for i, k := range pk.PublicKeys {
		block, _ := pem.Decode([]byte(k.Key))
		if block == nil || k.KeyIdentifier == "" {
			return nil, fmt.Errorf("leak signing keys: key %d has no identifier or no PEM key", i)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("leak signing keys: key %s: %w", k.KeyIdentifier, err)
		}
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("leak signing keys: key %s is not an ECDSA key", k.KeyIdentifier)
		}
		out[k.KeyIdentifier] = ec
	}
	return out, nil
}

// KeySource returns the signing keys by identifier.
type KeySource interface {
	// Key returns the key with identifier id, or nil when there is none.
	Key(ctx context.Context, id string) (*ecdsa.PublicKey, error)
}

// StaticKeys are keys given in the stack's configuration.
type StaticKeys map[string]*ecdsa.PublicKey

// Key implements KeySource.
func (s StaticKeys) Key(_ context.Context, id string) (*ecdsa.PublicKey, error) { return s[id], nil }

// URLKeys fetches the keys document from a URL, keeps it for an hour and
// fetches again (at most once a minute) when asked for an identifier it
// does not hold, so a scanner's new key works without a redeploy.
type URLKeys struct {
	URL    string
	Client *http.Client
	Now    func() time.Time

	mu      sync.Mutex
	keys    map[string]*ecdsa.PublicKey
	fetched time.Time
}

// Key implements KeySource.
func (u *URLKeys) Key(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now
	if u.Now != nil {
		now = u.Now
	}
	age := now().Sub(u.fetched)
	if k := u.keys[id]; k != nil && age < time.Hour {
		return k, nil
	}
	if u.keys != nil && age < time.Minute {
		return u.keys[id], nil
	}
	keys, err := u.fetch(ctx)
	if err != nil {
		return nil, err
	}
	u.keys, u.fetched = keys, now()
	return keys[id], nil
}

func (u *URLKeys) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	client := u.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("leak signing keys: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("leak signing keys: fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("leak signing keys: fetch: status %d", resp.StatusCode)
	}
	doc, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("leak signing keys: fetch: %w", err)
	}
	return ParseKeys(doc)
}

// errBadSignature is every reason a report is not accepted as signed.
var errBadSignature = errors.New("missing, unknown or invalid signature")

// verify checks body's signature: sig is the base64 ASN.1 ECDSA signature of
// SHA-256(body) by the key named keyID.
func verify(ctx context.Context, keys KeySource, body []byte, keyID, sig string) error {
	keyID, sig = strings.TrimSpace(keyID), strings.TrimSpace(sig)
	if keyID == "" || sig == "" || len(keyID) > 256 || len(sig) > 512 {
		return errBadSignature
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return errBadSignature
	}
	pub, err := keys.Key(ctx, keyID)
	if err != nil {
		return err
	}
	if pub == nil {
		return errBadSignature
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, sum[:], raw) {
		return errBadSignature
	}
	return nil
}

// DefaultRate is how many reports a second one container accepts.
const DefaultRate = 5

// Settings read the function's environment: LEAK_SIGNING_KEYS (the keys
// document itself) or else LEAK_SIGNING_KEYS_URL (where to fetch it), and
// LEAK_REPORTS_PER_SECOND. Neither key setting is an error: with no keys
// every report is refused.
func Settings(getenv func(string) string) (KeySource, float64, error) {
	perSecond := float64(DefaultRate)
	if v := strings.TrimSpace(getenv("LEAK_REPORTS_PER_SECOND")); v != "" {
		var n int
		if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n < 1 || n > 1000 {
			return nil, 0, fmt.Errorf("LEAK_REPORTS_PER_SECOND %q must be a whole number from 1 to 1000", v)
		}
		perSecond = float64(n)
	}
	if doc := strings.TrimSpace(getenv("LEAK_SIGNING_KEYS")); doc != "" {
		keys, err := ParseKeys([]byte(doc))
		if err != nil {
			return nil, 0, fmt.Errorf("LEAK_SIGNING_KEYS: %w", err)
		}
		return StaticKeys(keys), perSecond, nil
	}
	if u := strings.TrimSpace(getenv("LEAK_SIGNING_KEYS_URL")); u != "" {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://127.0.0.1") {
			return nil, 0, fmt.Errorf("LEAK_SIGNING_KEYS_URL %q must be an https URL", u)
		}
		return &URLKeys{URL: u}, perSecond, nil
	}
	return StaticKeys{}, perSecond, nil
}
