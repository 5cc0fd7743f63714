// Package lambdaemu runs real Lambda function binaries (a provided.al2023
// `bootstrap`) on this machine behind an emulation of the Lambda Runtime API,
// the HTTP interface every Lambda runtime polls for work
// (GET /2018-06-01/runtime/invocation/next, POST .../{id}/response and
// .../{id}/error). It is development tooling, not for production.
//
// A Function is a small pool of processes of one binary. Each process gets a
// Runtime API endpoint of its own (AWS_LAMBDA_RUNTIME_API), so the emulator
// always knows which process holds which invocation: a process that crashes
// fails its invocation and is restarted, one that runs past the function's
// Timeout is killed (with everything it started) and restarted, and a
// process that exits before it asks for work is an init failure reported to
// the callers waiting for it. The pool starts with one process and grows, up
// to MaxConcurrency, while invocations find no idle process.
//
// Invoke is the in-process equivalent of Lambda's synchronous Invoke; see
// InvokeAPI for Lambda's HTTP Invoke endpoint over a set of Functions.
package lambdaemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/keyward/keyward/pkg/workbench/localaws"
)

// Defaults for the zero values of Config.
const (
	DefaultTimeout        = 3 * time.Second
	DefaultMemoryMB       = 128
	DefaultMaxConcurrency = 4
	DefaultRegion         = localaws.Region
	DefaultAccount        = localaws.Account
)

// MaxPayloadBytes is Lambda's limit for synchronous request and response
// payloads (6 MB).
const MaxPayloadBytes = 6 << 20

// ErrClosed is returned by Invoke once the Function is closed.
var ErrClosed = errors.New("lambdaemu: function is closed")

// Config describes one function.
type Config struct {
	// Name is the function's name (in a SAM template, its logical ID).
	Name string
	// Path is the executable (the function's bootstrap).
	Path string
	// Env is the function's environment as KEY=VALUE pairs: the template's
	// variables, AWS_REGION, credentials, endpoints. Nothing of the
	// caller's environment is inherited (Lambda's isn't either). The
	// Runtime API address and the AWS_LAMBDA_FUNCTION_* variables are
	// added by the emulator.
	Env []string
	// Timeout is the function's Timeout (default 3 s): a process still
	// working on an invocation after it is killed.
	Timeout time.Duration
	// MemoryMB is reported to the function (default 128); it is not
	// enforced.
	MemoryMB int
	// MaxConcurrency bounds the processes (default 4).
	MaxConcurrency int
	// Region and Account make up the function's ARN (defaults us-east-1,
	// 000000000000).
	Region  string
	Account string
	// Output receives the processes' standard output and error, one Write
	// per complete line (without the newline). Nil discards them. It must
	// be safe for concurrent use.
	Output io.Writer
	// Logger receives the emulator's own messages (crashes, timeouts,
	// restarts); nil means slog.Default().
	Logger *slog.Logger
}

// Result is the outcome of an invocation that ran.
type Result struct {
	// RequestID is the invocation's request ID.
	RequestID string
	// Payload is the function's response, or the error document
	// ({"errorMessage":…,"errorType":…}) when FunctionError is set.
	Payload []byte
	// FunctionError is "" on success and "Unhandled" when the function
	// returned an error, panicked, crashed or timed out (Lambda's
	// X-Amz-Function-Error).
	FunctionError string
	// Duration is the time from hand-over to the process to its answer.
	Duration time.Duration
}

// Function is a running pool of processes of one function binary.
type Function struct {
	cfg   Config
	arn   string
	log   *slog.Logger
	queue chan *invocation // unbuffered: a send is a hand-over to a process

	mu        sync.Mutex
	instances []*instance
	idle      int           // processes blocked in /next
	healthy   bool          // a process initialised since the last init failure
	initFail  chan struct{} // closed (and replaced) when a process fails to init
	initErr   *Result       // the last init failure, for waiting callers
	closed    bool
	done      chan struct{} // closed by Close
	wg        sync.WaitGroup
}

// Start checks cfg, starts the function's first process and returns at once;
// invocations wait for the process to ask for work.
func Start(cfg Config) (*Function, error) {
	if cfg.Name == "" {
		return nil, errors.New("lambdaemu: Config.Name is empty")
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("lambdaemu: %s: %w", cfg.Name, err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("lambdaemu: %s: %s is not an executable file", cfg.Name, path)
	}
	cfg.Path = path
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = DefaultMaxConcurrency
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Account == "" {
		cfg.Account = DefaultAccount
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	f := &Function{
		cfg:      cfg,
		arn:      "arn:aws:lambda:" + cfg.Region + ":" + cfg.Account + ":function:" + cfg.Name,
		log:      log.With("function", cfg.Name),
		queue:    make(chan *invocation),
		initFail: make(chan struct{}),
		done:     make(chan struct{}),
	}
	f.mu.Lock()
	f.startInstanceLocked()
	f.mu.Unlock()
	return f, nil
}

// Name returns the function's name.
func (f *Function) Name() string { return f.cfg.Name }

// ARN returns the function's ARN.
func (f *Function) ARN() string { return f.arn }

// Timeout returns the function's timeout.
func (f *Function) Timeout() time.Duration { return f.cfg.Timeout }

// Invoke runs one invocation with payload (a JSON document) and returns its
// result. A function error, crash or timeout is a Result with FunctionError
// set, not an error; errors are ErrClosed and ctx's error. A ctx that ends
// after a process took the invocation leaves it running to its end, as an
// abandoned Lambda invocation does.
func (f *Function) Invoke(ctx context.Context, payload []byte) (*Result, error) {
	if len(payload) > MaxPayloadBytes {
		return nil, fmt.Errorf("lambdaemu: %s: payload of %d bytes is over the %d-byte limit", f.cfg.Name, len(payload), MaxPayloadBytes)
	}
	inv := &invocation{id: newRequestID(), payload: payload, done: make(chan struct{})}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, ErrClosed
	}
	// Grow while every process is busy, but not while processes fail to
	// start: more of them would fail the same way.
	if f.idle == 0 && f.healthy && len(f.instances) < f.cfg.MaxConcurrency {
		f.startInstanceLocked()
	}
	initFail := f.initFail
	f.mu.Unlock()

	select {
	case f.queue <- inv:
	case <-initFail:
		f.mu.Lock()
		r := *f.initErr
		f.mu.Unlock()
		r.RequestID = inv.id
		return &r, nil
	case <-f.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// A process took it; if it dies before answering, the invocation is
	// finished with the crash, or handed to another process when the
	// process died before it saw the event.
	select {
	case <-inv.done:
		r := inv.result
		return &r, nil
	case <-f.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// requeue hands inv to another process: the one that took it died before
// the event reached it.
func (f *Function) requeue(inv *invocation) {
	go func() {
		f.mu.Lock()
		initFail := f.initFail
		f.mu.Unlock()
		select {
		case f.queue <- inv:
		case <-initFail:
			f.mu.Lock()
			r := *f.initErr
			f.mu.Unlock()
			inv.finish(r)
		case <-f.done:
		}
	}()
}

// Close stops every process (SIGTERM, SIGKILL after a second) and waits for
// them. Invocations in flight end with ErrClosed or a function error.
func (f *Function) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		f.wg.Wait()
		return nil
	}
	f.closed = true
	close(f.done)
	insts := append([]*instance(nil), f.instances...)
	f.mu.Unlock()
	for _, in := range insts {
		in.stop()
	}
	f.wg.Wait()
	return nil
}

// startInstanceLocked adds a process slot and starts its process. The caller
// holds f.mu.
func (f *Function) startInstanceLocked() {
	in := &instance{f: f, n: len(f.instances) + 1, stopCh: make(chan struct{})}
	f.instances = append(f.instances, in)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		in.run()
	}()
}

// noteInitFailure wakes every caller waiting for a process with r.
func (f *Function) noteInitFailure(r Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.initErr = &r
	close(f.initFail)
	f.initFail = make(chan struct{})
}

// invocation is one event on its way through a process.
type invocation struct {
	id      string
	payload []byte
	done    chan struct{} // closed once result is set

	once     sync.Once
	result   Result
	started  time.Time
	deadline time.Time
}

// finish records the result once; later calls (a response racing a
// timeout) are ignored. It reports whether this call set the result.
func (inv *invocation) finish(r Result) bool {
	set := false
	inv.once.Do(func() {
		r.RequestID = inv.id
		if !inv.started.IsZero() {
			r.Duration = time.Since(inv.started)
		}
		inv.result = r
		close(inv.done)
		set = true
	})
	return set
}

// errorResult is a function error result with Lambda's error document.
func errorResult(errType, message string) Result {
	doc := map[string]string{"errorMessage": message}
	if errType != "" {
		doc["errorType"] = errType
	}
	b, _ := json.Marshal(doc)
	return Result{Payload: b, FunctionError: "Unhandled"}
}

// newRequestID returns a random UUID, the form of Lambda request IDs.
func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
