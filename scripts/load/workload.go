package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// kind is a kind of operation of the mix.
type kind string

// The operations, in the order the report lists them.
const (
	opCreate      kind = "create"
	opList        kind = "list"
	opVerify      kind = "verify"
	opWhoami      kind = "whoami"
	opRotate      kind = "rotate"
	opRevoke      kind = "revoke"
	opBatchRevoke kind = "batch-revoke"
)

var kinds = []kind{opCreate, opList, opVerify, opWhoami, opRotate, opRevoke, opBatchRevoke}

// mix is each kind's share of the operations, in percent.
var mix = []struct {
	kind   kind
	weight int
}{
	{opCreate, 18}, {opList, 12}, {opVerify, 20}, {opWhoami, 25},
	{opRotate, 12}, {opRevoke, 10}, {opBatchRevoke, 3},
}

// Shares of the operations that pick their target elsewhere.
const (
	foreignShare   = 15 // rotate and revoke: percent aimed at another client's key
	graceShare     = 30 // rotate: percent with a grace period
	revokedShare   = 25 // whoami: percent with a token of a revoked key
	anyTargetShare = 30 // verify: percent checking another client's key
	adminListShare = 50 // list: percent with the admin token (else a created key's)
	unknownShare   = 30 // batch revoke: percent with an ID that does not exist
)

// refusalWindow is how long a revoked key may keep working: the flush of
// the gateway's cache and the authorizer's memory.
const refusalWindow = 5 * time.Second

// unknownKeyID is a well-formed key ID that no key has.
const unknownKeyID = "key_01ARZ3NDEKTSV4RRFFQ69G5FAV"

// createdScopes are the scopes of every key the run creates: enough to list
// keys and verify tokens with it, below the admin that creates it.
var createdScopes = []string{"keys:read", "keys:verify"}

// key is what the run knows of one key it created.
type key struct {
	id    string
	owner int

	mu        sync.Mutex
	tokens    []string // every token issued for it, oldest first
	secrets   []string
	current   string // the token of the highest version issued
	version   int64
	rotations int            // rotate calls answered 200
	revoked   bool           // a revoke answered with status revoked
	revokedAt time.Time      // when the first such answer arrived
	contended bool           // another client rotated or revoked it: its owner's view may be stale
	unsure    map[string]int // audit action → writes answered 5xx or not at all (committed or not)
}

// noteUnsure records a write whose outcome is unknown: it may have made
// an audit record, or not.
func (k *key) noteUnsure(action string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.unsure == nil {
		k.unsure = map[string]int{}
	}
	k.unsure[action]++
}

func (k *key) issue(token, secret string, version int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.tokens = append(k.tokens, token)
	k.secrets = append(k.secrets, secret)
	if version > k.version {
		k.version, k.current = version, token
	}
}

func (k *key) markRevoked() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.revoked {
		k.revoked, k.revokedAt = true, time.Now()
	}
}

func (k *key) markContended() {
	k.mu.Lock()
	k.contended = true
	k.mu.Unlock()
}

// snapshot is a consistent copy of a key's state.
type snapshot struct {
	current   string
	tokens    []string
	rotations int
	revoked   bool
	revokedAt time.Time
	contended bool
	unsure    map[string]int
}

func (k *key) snapshot() snapshot {
	k.mu.Lock()
	defer k.mu.Unlock()
	return snapshot{current: k.current, tokens: append([]string(nil), k.tokens...), rotations: k.rotations,
		revoked: k.revoked, revokedAt: k.revokedAt, contended: k.contended, unsure: maps.Clone(k.unsure)}
}

func (k *key) isContended() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.contended
}

// sample is one request's outcome.
type sample struct {
	kind   kind
	status int // 0: no response
	dur    time.Duration
}

// serverError is a 5xx (or a call with no response), kept for the report.
type serverError struct {
	kind      kind
	method    string
	route     string
	status    int
	requestID string
	body      string
	err       string
}

// workload is the shared state of a run's clients.
type workload struct {
	api    *api
	admin  string // the admin key's Authorization value
	ctx    context.Context
	stopAt time.Time
	maxOps int64

	started atomic.Int64 // operations begun (or refused at maxOps)

	mu           sync.Mutex
	keys         []*key
	serverErrors []serverError
	nServerErrs  int
	unexpected   []string
	nUnexpected  map[kind]int
}

func newWorkload(ctx context.Context, a *api, adminToken string, stopAt time.Time, maxOps int64) *workload {
	return &workload{api: a, admin: bearer(adminToken), ctx: ctx, stopAt: stopAt, maxOps: maxOps, nUnexpected: map[kind]int{}}
}

// next reports whether another operation may start.
func (w *workload) next() bool {
	if w.ctx.Err() != nil || !time.Now().Before(w.stopAt) {
		return false
	}
	if w.started.Add(1) > w.maxOps {
		return false
	}
	return true
}

func (w *workload) register(k *key) {
	w.mu.Lock()
	w.keys = append(w.keys, k)
	w.mu.Unlock()
}

// allKeys returns every key created so far.
func (w *workload) allKeys() []*key {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*key(nil), w.keys...)
}

// randomKey returns a key of another client than owner, if there is one.
func (w *workload) randomKey(rng *rand.Rand, owner int) *key {
	w.mu.Lock()
	defer w.mu.Unlock()
	for range 4 {
		if len(w.keys) == 0 {
			return nil
		}
		if k := w.keys[rng.IntN(len(w.keys))]; k.owner != owner {
			return k
		}
	}
	return nil
}

// maxKept bounds the 5xx and unexpected outcomes kept for the report.
const maxKept = 20

func (w *workload) noteUnexpected(k kind, format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nUnexpected[k]++
	if len(w.unexpected) < maxKept {
		w.unexpected = append(w.unexpected, string(k)+": "+fmt.Sprintf(format, args...))
	}
}

func (w *workload) noteServerError(e serverError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nServerErrs++
	if len(w.serverErrors) < maxKept {
		w.serverErrors = append(w.serverErrors, e)
	}
}

// client is one of the concurrent clients: it creates keys of its own and
// rotates, revokes, verifies and uses them (and, now and then, another
// client's), one operation at a time.
type client struct {
	n       int
	w       *workload
	rng     *rand.Rand
	active  []*key // its keys not revoked, as far as it knows
	revoked []*key
	names   int
	samples []sample
}

func newClient(n int, w *workload, seed uint64) *client {
	return &client{n: n, w: w, rng: rand.New(rand.NewPCG(seed, uint64(n)))}
}

// run performs operations until the workload says stop.
func (c *client) run() {
	for c.w.next() {
		c.step()
	}
}

func (c *client) step() {
	r := c.rng.IntN(100)
	op := mix[len(mix)-1].kind
	for _, m := range mix {
		if r < m.weight {
			op = m.kind
			break
		}
		r -= m.weight
	}
	if op != opCreate && len(c.active) == 0 {
		op = opCreate // every other operation needs a key of its own
	}
	switch op {
	case opCreate:
		c.create()
	case opList:
		c.list()
	case opVerify:
		c.verify()
	case opWhoami:
		c.whoami()
	case opRotate:
		c.rotate()
	case opRevoke:
		c.revoke()
	case opBatchRevoke:
		c.batchRevoke()
	}
}

// call sends one request and records it; route names the path's template
// for the report.
func (c *client) call(op kind, method, path, route, auth string, body any) *result {
	r := c.w.api.do(c.w.ctx, method, path, auth, body)
	c.samples = append(c.samples, sample{kind: op, status: r.status, dur: r.dur})
	switch {
	case r.err != nil && canceled(c.w.ctx, r.err):
	case r.err != nil:
		c.w.noteServerError(serverError{kind: op, method: method, route: route, status: r.status, err: r.err.Error()})
	case r.status >= 500:
		c.w.noteServerError(serverError{kind: op, method: method, route: route, status: r.status, requestID: r.requestID, body: excerpt(r.body)})
	}
	return r
}

// excerpt is the start of a 5xx body (error bodies hold no secrets).
func excerpt(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// issued is a create or rotate response.
type issued struct {
	ID      string `json:"id"`
	Secret  string `json:"secret"`
	Token   string `json:"token"`
	Version int64  `json:"version"`
}

func (c *client) pickActive() *key { return c.active[c.rng.IntN(len(c.active))] }

func (c *client) create() {
	name := fmt.Sprintf("load-%03d-%05d", c.n, c.names)
	c.names++
	body := map[string]any{"name": name, "scopes": createdScopes, "metadata": map[string]string{"client": strconv.Itoa(c.n)}}
	r := c.call(opCreate, http.MethodPost, "/v1/keys", "/v1/keys", c.w.admin, body)
	if r.err != nil || r.status != http.StatusCreated {
		if r.err == nil && r.status < 500 {
			c.w.noteUnexpected(opCreate, "status %d (%s), want 201", r.status, r.errorCode())
		}
		return
	}
	var iss issued
	if err := r.decode(&iss); err != nil || iss.ID == "" || iss.Token == "" {
		c.w.noteUnexpected(opCreate, "201 without an id and token")
		return
	}
	k := &key{id: iss.ID, owner: c.n}
	k.issue(iss.Token, iss.Secret, iss.Version)
	c.w.register(k)
	c.active = append(c.active, k)
}

func (c *client) list() {
	if c.rng.IntN(100) < adminListShare {
		r := c.call(opList, http.MethodGet, "/v1/keys?limit=50", "/v1/keys", c.w.admin, nil)
		if !c.expectStatus(opList, r, http.StatusOK, nil) {
			return
		}
		var page struct {
			NextCursor *string `json:"nextCursor"`
		}
		if err := r.decode(&page); err == nil && page.NextCursor != nil {
			r = c.call(opList, http.MethodGet, "/v1/keys?limit=50&cursor="+url.QueryEscape(*page.NextCursor), "/v1/keys", c.w.admin, nil)
			c.expectStatus(opList, r, http.StatusOK, nil)
		}
		return
	}
	k := c.pickActive()
	r := c.call(opList, http.MethodGet, "/v1/keys?limit=20", "/v1/keys", bearer(k.snapshot().current), nil)
	c.expectStatus(opList, r, http.StatusOK, k)
}

// expectStatus notes an unexpected status; by is the key whose token
// authenticated the call (nil: the admin's), whose own state may have been
// changed by another client. It reports whether the status is want.
func (c *client) expectStatus(op kind, r *result, want int, by *key) bool {
	if r.err != nil || r.status >= 500 {
		return false // counted as such
	}
	if r.status == want {
		return true
	}
	if by == nil || !by.isContended() {
		c.w.noteUnexpected(op, "status %d (%s), want %d", r.status, r.errorCode(), want)
	}
	return false
}

func (c *client) whoami() {
	if len(c.revoked) > 0 && c.rng.IntN(100) < revokedShare {
		k := c.revoked[c.rng.IntN(len(c.revoked))]
		s := k.snapshot()
		if s.revoked && time.Since(s.revokedAt) > refusalWindow {
			tok := s.tokens[c.rng.IntN(len(s.tokens))]
			r := c.call(opWhoami, http.MethodGet, "/v1/whoami", "/v1/whoami", bearer(tok), nil)
			if r.err == nil && r.status < 500 && r.status != http.StatusUnauthorized {
				c.w.noteUnexpected(opWhoami, "a key revoked %v ago: status %d, want 401", time.Since(s.revokedAt).Round(time.Millisecond), r.status)
			}
			return
		}
	}
	k := c.pickActive()
	r := c.call(opWhoami, http.MethodGet, "/v1/whoami", "/v1/whoami", bearer(k.snapshot().current), nil)
	if !c.expectStatus(opWhoami, r, http.StatusOK, k) {
		return
	}
	var who struct {
		KeyID string `json:"keyId"`
	}
	if err := r.decode(&who); err != nil || who.KeyID != k.id {
		c.w.noteUnexpected(opWhoami, "200 for another key than the token's")
	}
}

func (c *client) verify() {
	by := c.pickActive()
	var (
		target *key
		want   string
	)
	if c.rng.IntN(100) < anyTargetShare {
		target = c.w.randomKey(c.rng, c.n)
	}
	if target == nil {
		mine := c.active
		if len(c.revoked) > 0 && c.rng.IntN(2) == 0 {
			mine = c.revoked
		}
		target = mine[c.rng.IntN(len(mine))]
		want = "VALID"
		if target.snapshot().revoked {
			want = "REVOKED"
		}
	}
	ts := target.snapshot()
	r := c.call(opVerify, http.MethodPost, "/v1/verify", "/v1/verify", bearer(by.snapshot().current), map[string]string{"token": ts.current})
	if !c.expectStatus(opVerify, r, http.StatusOK, by) || want == "" || target.isContended() {
		return
	}
	var v struct {
		Valid bool   `json:"valid"`
		Code  string `json:"code"`
		KeyID string `json:"keyId"`
	}
	if err := r.decode(&v); err != nil || v.Code != want || (v.Code == "VALID") != v.Valid {
		c.w.noteUnexpected(opVerify, "code %q (valid %v), want %s", v.Code, v.Valid, want)
	}
}

// target returns the key a rotate or revoke acts on: mostly one of the
// client's own, sometimes another client's (marked contended first, so that
// its owner stops expecting its own view to hold).
func (c *client) target() (k *key, own bool) {
	if c.rng.IntN(100) < foreignShare {
		if k := c.w.randomKey(c.rng, c.n); k != nil {
			k.markContended()
			return k, false
		}
	}
	return c.pickActive(), true
}

func (c *client) rotate() {
	k, own := c.target()
	var body any
	if c.rng.IntN(100) < graceShare {
		body = map[string]int{"gracePeriodSeconds": 60}
	}
	r := c.call(opRotate, http.MethodPost, "/v1/keys/"+k.id+"/rotate", "/v1/keys/{keyId}/rotate", c.w.admin, body)
	if r.err != nil || r.status >= 500 {
		k.noteUnsure(actionRotated)
		return
	}
	switch {
	case r.status == http.StatusOK:
		var iss issued
		if err := r.decode(&iss); err != nil || iss.ID != k.id || iss.Token == "" {
			c.w.noteUnexpected(opRotate, "200 without the key's id and token")
			return
		}
		k.issue(iss.Token, iss.Secret, iss.Version)
		k.mu.Lock()
		k.rotations++
		k.mu.Unlock()
	case r.status == http.StatusConflict && (!own || k.isContended()):
		// another client revoked it first
	default:
		c.w.noteUnexpected(opRotate, "status %d (%s), want 200", r.status, r.errorCode())
	}
}

func (c *client) revoke() {
	k, own := c.target()
	r := c.call(opRevoke, http.MethodDelete, "/v1/keys/"+k.id, "/v1/keys/{keyId}", c.w.admin, nil)
	if r.err != nil || r.status >= 500 {
		k.noteUnsure(actionRevoked)
		return
	}
	if !c.expectStatus(opRevoke, r, http.StatusOK, nil) {
		return
	}
	var out struct {
		Status string `json:"status"`
	}
	if err := r.decode(&out); err != nil || out.Status != "revoked" {
		c.w.noteUnexpected(opRevoke, "200 with status %q, want revoked", out.Status)
		return
	}
	k.markRevoked()
	if own {
		c.forget(k)
	}
}

// forget moves one of the client's keys from active to revoked.
func (c *client) forget(k *key) {
	for i, a := range c.active {
		if a == k {
			c.active = append(c.active[:i], c.active[i+1:]...)
			c.revoked = append(c.revoked, k)
			return
		}
	}
}

func (c *client) batchRevoke() {
	n := min(1+c.rng.IntN(3), len(c.active))
	picked := map[*key]bool{}
	var ids []string
	for len(ids) < n {
		k := c.pickActive()
		if !picked[k] {
			picked[k] = true
			ids = append(ids, k.id)
		}
	}
	unknown := c.rng.IntN(100) < unknownShare
	if unknown {
		ids = append(ids, unknownKeyID)
	}
	r := c.call(opBatchRevoke, http.MethodPost, "/v1/keys/batch-revoke", "/v1/keys/batch-revoke", c.w.admin, map[string]any{"ids": ids})
	if r.err != nil || r.status >= 500 {
		for k := range picked {
			k.noteUnsure(actionRevoked)
		}
		return
	}
	if !c.expectStatus(opBatchRevoke, r, http.StatusOK, nil) {
		return
	}
	var out struct {
		Results []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Error  *struct {
				Code string `json:"code"`
			} `json:"error"`
		} `json:"results"`
	}
	if err := r.decode(&out); err != nil || len(out.Results) != len(ids) {
		c.w.noteUnexpected(opBatchRevoke, "%d results for %d IDs", len(out.Results), len(ids))
		return
	}
	for i, res := range out.Results {
		if res.ID != ids[i] {
			c.w.noteUnexpected(opBatchRevoke, "result %d is for another ID", i)
			continue
		}
		if res.ID == unknownKeyID {
			if res.Error == nil || res.Error.Code != "not_found" {
				c.w.noteUnexpected(opBatchRevoke, "an unknown ID: status %q, want error not_found", res.Status)
			}
			continue
		}
		var k *key
		for p := range picked {
			if p.id == res.ID {
				k = p
			}
		}
		if res.Error != nil && (res.Error.Code == "internal" || res.Error.Code == "unavailable") {
			// a 5xx for this ID inside the 200
			c.w.noteServerError(serverError{kind: opBatchRevoke, method: http.MethodPost, route: "/v1/keys/batch-revoke",
				status: http.StatusOK, requestID: r.requestID, body: "result for " + res.ID + ": error " + res.Error.Code})
			k.noteUnsure(actionRevoked)
			continue
		}
		if res.Status != "revoked" {
			if !k.isContended() {
				c.w.noteUnexpected(opBatchRevoke, "status %q, want revoked", res.Status)
			}
			continue
		}
		k.markRevoked()
		c.forget(k)
	}
}
