// Package localkms is a small KMS-compatible HTTP endpoint for local
// development and tests: it is not for production.
//
// It speaks the subset of the TrentService JSON 1.1 protocol that the
// aws-sdk-go-v2 kms client uses for envelope encryption (GenerateDataKey,
// Encrypt, Decrypt and DescribeKey), so code wired to a real KMS client can run
// against it unchanged by pointing the client's BaseEndpoint at Start's URL.
// Requests are not authenticated: SigV4 signatures are ignored.
//
// Every key has its own 256-bit master key; ciphertexts are AES-256-GCM sealed
// under it with the canonical encryption context as additional data, so a
// wrong or missing context fails to decrypt, as it does in KMS. Master keys
// live in memory and, with WithFile, in a JSON file (mode 0600) so data
// encrypted by a local stack stays readable across restarts. The file holds
// raw key material: keep it out of version control.
package localkms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward/pkg/workbench/localaws"
)

// Defaults for the ARNs the server reports.
const (
	DefaultRegion  = localaws.Region
	DefaultAccount = localaws.Account
)

// Option configures a Server.
type Option func(*Server)

// WithRegion sets the region used in key ARNs (default DefaultRegion).
func WithRegion(region string) Option { return func(s *Server) { s.region = region } }

// WithAccount sets the account ID used in key ARNs (default DefaultAccount).
func WithAccount(account string) Option { return func(s *Server) { s.account = account } }

// WithFile persists keys and aliases to a JSON file at path (written with mode
// 0600, parent directories 0700). Keys already in the file are loaded by New.
// Only one Server should use a given file at a time.
func WithFile(path string) Option { return func(s *Server) { s.path = path } }

// WithRand sets the source of key material, nonces and key IDs (default crypto/rand).
func WithRand(r io.Reader) Option { return func(s *Server) { s.rand = r } }

// WithClock sets the clock used for key creation dates (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// Server is an in-process KMS endpoint. It implements http.Handler and is safe
// for concurrent use.
type Server struct {
	region  string
	account string
	path    string
	rand    io.Reader
	now     func() time.Time

	mu      sync.RWMutex
	keys    map[string]*masterKey // by key ID (UUID)
	aliases map[string]string     // "alias/<name>" → key ID
}

// masterKey is one KMS key: its ID and the AES-256 key that seals ciphertexts.
type masterKey struct {
	id          string
	material    []byte
	aead        cipher.AEAD
	created     time.Time
	description string
}

var _ http.Handler = (*Server)(nil)

// New returns a Server with no keys, or with the keys stored in the WithFile
// file when it exists.
func New(opts ...Option) (*Server, error) {
	s := &Server{
		region:  DefaultRegion,
		account: DefaultAccount,
		rand:    rand.Reader,
		now:     time.Now,
		keys:    map[string]*masterKey{},
		aliases: map[string]string{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.region == "" || s.account == "" {
		return nil, errors.New("localkms: region and account must not be empty")
	}
	if s.path != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// CreateKey creates a symmetric key and, unless alias is empty, an alias for
// it ("name" or "alias/name"), and returns the key's ARN. It fails if the
// alias exists; use EnsureKey to reuse it.
func (s *Server) CreateKey(alias string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createKeyLocked(alias, "")
}

// EnsureKey returns the ARN of the key that alias names, creating the key and
// alias first if the alias does not exist. With WithFile, this gives a local
// stack the same key on every start.
func (s *Server) EnsureKey(alias string) (string, error) {
	name, err := aliasName(alias)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.aliases[name]; ok {
		return s.keyARN(id), nil
	}
	return s.createKeyLocked(name, "")
}

func (s *Server) createKeyLocked(alias, description string) (string, error) {
	var name string
	if alias != "" {
		n, err := aliasName(alias)
		if err != nil {
			return "", err
		}
		if _, ok := s.aliases[n]; ok {
			return "", fmt.Errorf("localkms: alias %s already exists", n)
		}
		name = n
	}
	id, err := newUUID(s.rand)
	if err != nil {
		return "", fmt.Errorf("localkms: key ID: %w", err)
	}
	material := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, material); err != nil {
		return "", fmt.Errorf("localkms: key material: %w", err)
	}
	k, err := newMasterKey(id, material, s.now().UTC(), description)
	if err != nil {
		return "", err
	}
	s.keys[id] = k
	if name != "" {
		s.aliases[name] = id
	}
	if err := s.save(); err != nil {
		delete(s.keys, id)
		if name != "" {
			delete(s.aliases, name)
		}
		return "", err
	}
	return s.keyARN(id), nil
}

func newMasterKey(id string, material []byte, created time.Time, description string) (*masterKey, error) {
	block, err := aes.NewCipher(material)
	if err != nil {
		return nil, fmt.Errorf("localkms: key %s: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("localkms: key %s: %w", id, err)
	}
	return &masterKey{id: id, material: material, aead: aead, created: created, description: description}, nil
}

// Start serves the endpoint on addr (for example "127.0.0.1:0") in the
// background and returns its base URL, for a client's BaseEndpoint, and a
// function that stops it.
func (s *Server) Start(addr string) (baseURL string, stop func() error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("localkms: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv.Close, nil
}

func (s *Server) keyARN(id string) string {
	return "arn:aws:kms:" + s.region + ":" + s.account + ":key/" + id
}

var aliasRE = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)

// aliasName normalises "name" or "alias/name" to "alias/name" and checks it
// against KMS's alias rules.
func aliasName(alias string) (string, error) {
	if !strings.HasPrefix(alias, "alias/") {
		alias = "alias/" + alias
	}
	if !aliasRE.MatchString(alias) || strings.HasPrefix(alias, "alias/aws/") {
		return "", fmt.Errorf("localkms: invalid alias %q", alias)
	}
	return alias, nil
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// newUUID returns a random (version 4) UUID, the form of KMS key IDs.
func newUUID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}
