// Package client is keyward's Go client: typed methods for every route of
// the API, with contexts, retries on 429 and 503 (exponential backoff with
// full jitter, honouring Retry-After), errors carrying the API's code and
// field, and iterators over paginated lists. The keyward CLI is built on it;
// services not behind API Gateway use its Verifier to check tokens.
//
// A Client is safe for concurrent use.
package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxResponseBytes bounds a response body the client reads.
const MaxResponseBytes = 8 << 20

// Client calls one keyward API with one key.
type Client struct {
	base       *url.URL
	auth       string
	http       *http.Client
	retries    int
	minBackoff time.Duration
	maxBackoff time.Duration
	maxWait    time.Duration
	userAgent  string
	header     http.Header // sent with every call (Keyward-Tenant, Keyward-Actor)
	sleep      func(ctx context.Context, d time.Duration) error
	jitter     func(n int64) int64
}

// Option customises a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with a 60 s timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithRetries sets how many times a call answered 429 or 503 (or, for a
// GET, 502, 504 or not answered at all) is retried; 0 disables retries.
// Default 3.
func WithRetries(n int) Option { return func(c *Client) { c.retries = max(n, 0) } }

// WithBackoff sets the backoff bounds: the n-th retry waits a random time in
// [0, min(maxBackoff, minBackoff·2ⁿ)), or Retry-After when the API sent a
// longer one, never more than maxWait. Defaults 200 ms, 5 s, 30 s.
func WithBackoff(minBackoff, maxBackoff, maxWait time.Duration) Option {
	return func(c *Client) { c.minBackoff, c.maxBackoff, c.maxWait = minBackoff, maxBackoff, maxWait }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithTenant makes every call act inside tenant (Keyward-Tenant): the
// calling key must be a platform key holding tenants:act.
func WithTenant(tenant string) Option { return withHeader("Keyward-Tenant", tenant) }

// WithActor names the person every call is made for (Keyward-Actor): writes
// and audit records carry them as the actor. The key needs actors:assert.
func WithActor(person string) Option { return withHeader("Keyward-Actor", person) }

func withHeader(name, value string) Option {
	return func(c *Client) {
		if value == "" {
			return
		}
		if c.header == nil {
			c.header = http.Header{}
		}
		c.header.Set(name, value)
	}
}

// WithBasic authenticates with a key ID and secret (Authorization: Basic)
// instead of a token.
func WithBasic(keyID, secret string) Option {
	return func(c *Client) {
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(keyID+":"+secret))
	}
}

// New returns a client of the API at baseURL (e.g. http://127.0.0.1:3000 or
// https://abc.execute-api.eu-west-1.amazonaws.com/prod) calling as the key
// whose token is given (Authorization: Bearer). The token may be empty for
// GET /v1/openapi.json only, or when WithBasic is given.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(baseURL), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("keyward: the API URL must be http(s)://host[/stage], got %q", baseURL)
	}
	c := &Client{
		base: u, http: &http.Client{Timeout: 60 * time.Second}, retries: 3,
		minBackoff: 200 * time.Millisecond, maxBackoff: 5 * time.Second, maxWait: 30 * time.Second,
		userAgent: "keyward-go", sleep: sleepCtx, jitter: rand.Int64N,
	}
	if token = strings.TrimSpace(token); token != "" {
		c.auth = "Bearer " + token
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the API's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// Error is a refusal or failure the API answered with: the HTTP status and
// the API's error code, message and, for invalid_request, the field.
type Error struct {
	StatusCode int
	Code       string
	Message    string
	Field      string
	// RetryAfter is the wait the API asked for (429, 503), zero if none.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("keyward: %d %s: %s", e.StatusCode, e.Code, e.Message)
	if e.Field != "" && !strings.HasPrefix(e.Message, e.Field) {
		msg += " (" + e.Field + ")"
	}
	return msg
}

// Refused reports whether the API refused the request (a 4xx): retrying it
// unchanged will not help, except for 429.
func (e *Error) Refused() bool { return e.StatusCode >= 400 && e.StatusCode < 500 }

// ErrorCode returns the API's error code of err ("" when err is not an API error).
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// request is one call: its body is kept as bytes so a retry resends it.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	header       http.Header
	anonymous    bool // send no credentials (public routes)
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req, retrying as retryable says,
// and returns a 2xx response or an *Error.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, req)
		if err == nil {
			return resp, nil
		}
		wait, retry := c.retryable(err, req.method)
		if !retry || attempt >= c.retries {
			return nil, err
		}
		if err := c.sleep(ctx, c.backoff(attempt, wait)); err != nil {
			return nil, err
		}
	}
}

// retryable says whether err may be retried and the wait the API asked for:
// 429 and 503 always (nothing was done), and for a GET also a 502 or 504 from
// the gateway and a request that got no answer.
func (c *Client) retryable(err error, method string) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) {
		switch e.StatusCode {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			return e.RetryAfter, true
		case http.StatusBadGateway, http.StatusGatewayTimeout:
			return 0, method == http.MethodGet
		}
		return 0, false
	}
	var te *transportError
	return 0, errors.As(err, &te) && method == http.MethodGet
}

// backoff is the wait before retry n+1: full jitter over an exponential
// ceiling, at least retryAfter, at most maxWait.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	ceiling := c.minBackoff << min(attempt, 20)
	if ceiling > c.maxBackoff || ceiling <= 0 {
		ceiling = c.maxBackoff
	}
	d := time.Duration(0)
	if ceiling > 0 {
		d = time.Duration(c.jitter(int64(ceiling)))
	}
	if retryAfter > d {
		d = retryAfter
	}
	return min(d, c.maxWait)
}

// transportError is a request that got no HTTP answer.
type transportError struct{ err error }

func (e *transportError) Error() string { return "keyward: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func (c *Client) once(ctx context.Context, req request) (*response, error) {
	u := *c.base
	u.Path = c.base.Path + req.path
	u.RawQuery = req.query.Encode()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("keyward: %w", err)
	}
	if !req.anonymous {
		for k, vs := range c.header {
			hr.Header[k] = vs
		}
	}
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", c.userAgent)
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" && !req.anonymous {
		hr.Header.Set("Authorization", c.auth)
	}
	hresp, err := c.http.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &transportError{err: redactURLError(err)}
	}
	defer hresp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hresp.Body, MaxResponseBytes))
	if err != nil {
		return nil, &transportError{err: err}
	}
	if hresp.StatusCode >= 200 && hresp.StatusCode < 300 {
		return &response{status: hresp.StatusCode, header: hresp.Header, body: b}, nil
	}
	return nil, apiError(hresp, b)
}

// redactURLError keeps a transport error's cause without the query string.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, strings.SplitN(ue.URL, "?", 2)[0], ue.Err)
	}
	return err
}

// apiError reads the API's error body; a body that is not one still gives
// the status.
func apiError(resp *http.Response, body []byte) *Error {
	e := &Error{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
		e.Code, e.Message, e.Field = eb.Error.Code, eb.Error.Message, eb.Error.Field
		return e
	}
	e.Code, e.Message = "http_"+strconv.Itoa(resp.StatusCode), http.StatusText(resp.StatusCode)
	return e
}

// parseRetryAfter reads Retry-After: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// call sends req and decodes a JSON answer into out (when not nil).
func (c *Client) call(ctx context.Context, req request, out any) (*response, error) {
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return nil, fmt.Errorf("keyward: %s %s: the answer is not the expected JSON: %w", req.method, req.path, err)
		}
	}
	return resp, nil
}

// jsonBody encodes v for a request body.
func jsonBody(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("keyward: encode request: %w", err)
	}
	return b, nil
}
