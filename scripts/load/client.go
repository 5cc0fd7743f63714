package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// requestTimeout bounds one HTTP call, queueing included; API Gateway's own
// integration timeout is 29 s, so a call still open after this is a hang.
const requestTimeout = 60 * time.Second

// api calls the stack's API through the gateway.
type api struct {
	base   string
	client *http.Client

	inFlight    atomic.Int64
	maxInFlight atomic.Int64
}

// newAPI returns a client of base (a loopback URL) whose connection pool
// holds a connection per client, so 200 clients never wait for one.
func newAPI(base string, clients int) (*api, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("the API is at %s, not on a loopback address", base)
	}
	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever HTTP_PROXY says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        2 * clients,
		MaxIdleConnsPerHost: 2 * clients,
		IdleConnTimeout:     90 * time.Second,
	}
	return &api{base: base, client: &http.Client{Transport: tr, Timeout: requestTimeout}}, nil
}

// result is one HTTP exchange.
type result struct {
	status    int
	body      []byte
	requestID string // the gateway's X-Amzn-Requestid, when it sent one
	dur       time.Duration
	err       error // transport error: no status
}

// decode unmarshals the body into v.
func (r *result) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("status %d: the body is not the expected JSON", r.status)
	}
	return nil
}

// errorCode returns the error contract's code ({"error":{"code":…}}).
func (r *result) errorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// do sends one request. auth is the Authorization header value; body, if
// not nil, is sent as JSON.
func (a *api) do(ctx context.Context, method, path, auth string, body any) *result {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &result{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return &result{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	n := a.inFlight.Add(1)
	for {
		m := a.maxInFlight.Load()
		if n <= m || a.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	defer a.inFlight.Add(-1)
	start := time.Now()
	resp, err := a.client.Do(req)
	if err != nil {
		return &result{err: err, dur: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	res := &result{status: resp.StatusCode, body: b, requestID: resp.Header.Get("X-Amzn-Requestid"), dur: time.Since(start)}
	if err != nil {
		res.err = err
	}
	return res
}

// canceled reports whether err comes from the run's own context ending,
// not from the server.
func canceled(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

func bearer(token string) string { return "Bearer " + token }
