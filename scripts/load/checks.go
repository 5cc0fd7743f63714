package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// check is one verdict of the run.
type check struct {
	name   string
	ok     bool
	detail string
	notes  []string // the first failures, for the report
}

func (c *check) fail(format string, args ...any) {
	c.ok = false
	if len(c.notes) < maxKept {
		c.notes = append(c.notes, fmt.Sprintf(format, args...))
	}
}

// checker runs the checks after the load, recording its own requests like
// the clients' (a 5xx while checking counts too).
type checker struct {
	api   *api
	admin string
	mu    sync.Mutex
	c     *client // records the samples and 5xx of the checks
}

func newChecker(w *workload) *checker {
	return &checker{api: w.api, admin: w.admin, c: &client{n: -1, w: w}}
}

// call is client.call under a lock: the checks send requests from several
// goroutines.
func (ch *checker) call(ctx context.Context, method, path, route, auth string, body any) *result {
	r := ch.api.do(ctx, method, path, auth, body)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.c.samples = append(ch.c.samples, sample{kind: opCheck, status: r.status, dur: r.dur})
	switch {
	case r.err != nil:
		ch.c.w.noteServerError(serverError{kind: opCheck, method: method, route: route, err: r.err.Error()})
	case r.status >= 500:
		ch.c.w.noteServerError(serverError{kind: opCheck, method: method, route: route, status: r.status, requestID: r.requestID, body: excerpt(r.body)})
	}
	return r
}

// opCheck labels the checks' own requests in the report.
const opCheck kind = "(checks)"

// listed pages through GET /v1/keys (every status) and counts each ID.
func (ch *checker) listed(ctx context.Context) (map[string]int, int, error) {
	seen := map[string]int{}
	cursor := ""
	for pages := 1; ; pages++ {
		path := "/v1/keys?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := ch.call(ctx, http.MethodGet, path, "/v1/keys", ch.admin, nil)
		if r.err != nil {
			return nil, pages, fmt.Errorf("GET /v1/keys, page %d: %w", pages, r.err)
		}
		if r.status != http.StatusOK {
			return nil, pages, fmt.Errorf("GET /v1/keys, page %d: status %d (%s)", pages, r.status, r.errorCode())
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor *string `json:"nextCursor"`
		}
		if err := r.decode(&page); err != nil {
			return nil, pages, fmt.Errorf("GET /v1/keys, page %d: %w", pages, err)
		}
		for _, it := range page.Items {
			seen[it.ID]++
		}
		if page.NextCursor == nil {
			return seen, pages, nil
		}
		if len(page.Items) == 0 && pages > 1000 {
			return nil, pages, fmt.Errorf("GET /v1/keys: %d pages and still a cursor", pages)
		}
		cursor = *page.NextCursor
	}
}

// checkListed: every key created (201) is listed, exactly once.
func (ch *checker) checkListed(ctx context.Context, keys []*key) check {
	c := check{name: "every 201 listed exactly once", ok: true}
	seen, pages, err := ch.listed(ctx)
	if err != nil {
		c.fail("%v", err)
		return c
	}
	missing, twice := 0, 0
	for _, k := range keys {
		switch n := seen[k.id]; {
		case n == 0:
			missing++
			c.fail("%s created (201) but not listed", k.id)
		case n > 1:
			twice++
			c.fail("%s listed %d times", k.id, n)
		}
	}
	c.detail = fmt.Sprintf("%d created, %d listed in %d pages of 100; %d missing, %d listed more than once",
		len(keys), len(seen), pages, missing, twice)
	return c
}

// checkRevoked: every token ever issued for a revoked key is refused at
// the gateway (401 on GET /v1/whoami, within refusalWindow of the check's
// first try), and POST /v1/verify says REVOKED for its current token.
func (ch *checker) checkRevoked(ctx context.Context, keys []*key) check {
	c := check{name: "every revoked key refused", ok: true}
	var revoked []*key
	for _, k := range keys {
		if k.snapshot().revoked {
			revoked = append(revoked, k)
		}
	}
	var (
		mu      sync.Mutex
		tokens  int
		retried int
		slowest time.Duration
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		c.fail(format, args...)
	}
	jobs := make(chan *key)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				s := k.snapshot()
				for _, tok := range s.tokens {
					start := time.Now()
					for attempt := 1; ; attempt++ {
						r := ch.call(ctx, http.MethodGet, "/v1/whoami", "/v1/whoami", bearer(tok), nil)
						if r.err == nil && r.status == http.StatusUnauthorized {
							mu.Lock()
							tokens++
							if attempt > 1 {
								retried++
							}
							slowest = max(slowest, time.Since(start))
							mu.Unlock()
							break
						}
						if r.err != nil || time.Since(start) > refusalWindow || ctx.Err() != nil {
							fail("%s, revoked: a token still gets status %d at /v1/whoami after %v", k.id, r.status, time.Since(start).Round(time.Millisecond))
							break
						}
						time.Sleep(200 * time.Millisecond)
					}
				}
				r := ch.call(ctx, http.MethodPost, "/v1/verify", "/v1/verify", ch.admin, map[string]string{"token": s.current})
				var v struct {
					Valid bool   `json:"valid"`
					Code  string `json:"code"`
				}
				if r.err != nil || r.status != http.StatusOK || r.decode(&v) != nil || v.Valid || v.Code != "REVOKED" {
					fail("%s, revoked: POST /v1/verify = %d %q, want 200 REVOKED", k.id, r.status, v.Code)
				}
			}
		}()
	}
	for _, k := range revoked {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	c.detail = fmt.Sprintf("%d revoked keys: %d tokens refused (401 at /v1/whoami; %d only after a retry, slowest %v), /v1/verify REVOKED for each",
		len(revoked), tokens, retried, slowest.Round(time.Millisecond))
	return c
}

// Audit actions the writes of the run make.
const (
	actionCreated = "key.created"
	actionRotated = "key.rotated"
	actionRevoked = "key.revoked"
)

// tally counts audit records per key ID and action.
type tally map[string]map[string]int

func (t tally) add(id, action string, n int) {
	if t[id] == nil {
		t[id] = map[string]int{}
	}
	t[id][action] += n
}

// expectedAudit is one record per write that changed a key: its creation,
// each rotation answered 200, and the revocation that revoked it. slack
// counts the writes whose outcome is unknown (answered 5xx or not at
// all): each may have made one record more.
func expectedAudit(keys []*key) (want, slack tally) {
	want, slack = tally{}, tally{}
	for _, k := range keys {
		s := k.snapshot()
		want.add(k.id, actionCreated, 1)
		if s.rotations > 0 {
			want.add(k.id, actionRotated, s.rotations)
		}
		if s.revoked {
			want.add(k.id, actionRevoked, 1)
		}
		if n := s.unsure[actionRotated]; n > 0 {
			slack.add(k.id, actionRotated, n)
		}
		if s.unsure[actionRevoked] > 0 && !s.revoked {
			slack.add(k.id, actionRevoked, 1)
		}
	}
	return want, slack
}

// compareAudit lists the keys of want whose records got are not between
// want and want+slack (records of other keys, such as the admin's, are not
// compared).
func compareAudit(want, slack, got tally) []string {
	var diffs []string
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		actions := map[string]bool{}
		for a := range want[id] {
			actions[a] = true
		}
		for a := range got[id] {
			actions[a] = true
		}
		for a := range slack[id] {
			actions[a] = true
		}
		names := make([]string, 0, len(actions))
		for a := range actions {
			names = append(names, a)
		}
		sort.Strings(names)
		for _, a := range names {
			w, g, s := want[id][a], got[id][a], slack[id][a]
			switch {
			case g >= w && g <= w+s:
			case s == 0:
				diffs = append(diffs, fmt.Sprintf("%s: %d %s records, want %d", id, g, a, w))
			default:
				diffs = append(diffs, fmt.Sprintf("%s: %d %s records, want %d to %d", id, g, a, w, w+s))
			}
		}
	}
	return diffs
}

// audit pages through GET /v1/audit and counts the records.
func (ch *checker) audit(ctx context.Context) (tally, int, error) {
	got := tally{}
	total := 0
	cursor := ""
	for pages := 1; ; pages++ {
		path := "/v1/audit?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := ch.call(ctx, http.MethodGet, path, "/v1/audit", ch.admin, nil)
		if r.err != nil {
			return nil, 0, fmt.Errorf("GET /v1/audit, page %d: %w", pages, r.err)
		}
		if r.status != http.StatusOK {
			return nil, 0, fmt.Errorf("GET /v1/audit, page %d: status %d (%s)", pages, r.status, r.errorCode())
		}
		var page struct {
			Items []struct {
				KeyID  string `json:"keyId"`
				Action string `json:"action"`
			} `json:"items"`
			NextCursor *string `json:"nextCursor"`
		}
		if err := r.decode(&page); err != nil {
			return nil, 0, fmt.Errorf("GET /v1/audit, page %d: %w", pages, err)
		}
		for _, it := range page.Items {
			got.add(it.KeyID, it.Action, 1)
			total++
		}
		if page.NextCursor == nil {
			return got, total, nil
		}
		cursor = *page.NextCursor
	}
}

// checkAudit waits (up to wait) for the stream poller to write every
// record, then checks one record per write, and again a few seconds later
// for records that came twice.
func (ch *checker) checkAudit(ctx context.Context, keys []*key, wait time.Duration) check {
	c := check{name: "one audit record per write", ok: true}
	want, slack := expectedAudit(keys)
	start := time.Now()
	var (
		diffs []string
		total int
	)
	for {
		got, n, err := ch.audit(ctx)
		if err != nil {
			c.fail("%v", err)
			return c
		}
		diffs, total = compareAudit(want, slack, got), n
		if len(diffs) == 0 || time.Since(start) > wait || ctx.Err() != nil {
			break
		}
		time.Sleep(2 * time.Second)
	}
	drained := time.Since(start)
	if len(diffs) == 0 {
		time.Sleep(3 * time.Second) // a late duplicate would show now
		got, n, err := ch.audit(ctx)
		if err != nil {
			c.fail("%v", err)
			return c
		}
		diffs, total = compareAudit(want, slack, got), n
	}
	for _, d := range diffs {
		c.fail("%s", d)
	}
	var created, rotated, revoked, unsure int
	for _, w := range want {
		created += w[actionCreated]
		rotated += w[actionRotated]
		revoked += w[actionRevoked]
	}
	for _, s := range slack {
		for _, n := range s {
			unsure += n
		}
	}
	state := "complete after"
	if len(diffs) > 0 {
		state = "still differing after"
	}
	c.detail = fmt.Sprintf("want %d %s, %d %s, %d %s (and up to %d more, for writes answered 5xx); %d records in the tenant's trail, %s %v; %d differences",
		created, actionCreated, rotated, actionRotated, revoked, actionRevoked, unsure, total, state, drained.Round(100*time.Millisecond), len(diffs))
	return c
}

// secretRun matches runs that may hold a 43-character base62 secret.
var secretRun = regexp.MustCompile(`[0-9A-Za-z]{43,}`)

// secretLen is the length of a key's secret in base62 characters.
const secretLen = 43

// checkLogs: no secret issued during the run (nor the admin's) appears in
// the stack's logs.
func checkLogs(path string, keys []*key, adminToken string) check {
	c := check{name: "no secret in the stack's logs", ok: true}
	secrets := map[string]bool{}
	if s := secretOf(adminToken); s != "" {
		secrets[s] = true
	}
	for _, k := range keys {
		k.mu.Lock()
		for _, s := range k.secrets {
			secrets[s] = true
		}
		k.mu.Unlock()
	}
	f, err := os.Open(path)
	if err != nil {
		c.fail("%v", err)
		return c
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	lines, found := 0, 0
	for sc.Scan() {
		lines++
		for _, m := range secretRun.FindAllString(sc.Text(), -1) {
			for i := 0; i+secretLen <= len(m); i++ {
				if secrets[m[i:i+secretLen]] {
					found++
					c.fail("line %d of %s holds a secret", lines, path)
					break
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		c.fail("reading %s: %v", path, err)
	}
	c.detail = fmt.Sprintf("%d lines searched for %d secrets; %d found", lines, len(secrets), found)
	return c
}

// secretOf returns a token's secret: the first 43 characters after its
// last underscore.
func secretOf(token string) string {
	i := strings.LastIndexByte(token, '_')
	if i < 0 || len(token)-i-1 < secretLen {
		return ""
	}
	return token[i+1 : i+1+secretLen]
}
