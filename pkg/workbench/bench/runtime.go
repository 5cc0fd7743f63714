package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Runtime is a minimal Lambda Runtime API serving one process: it hands out
// the events given to Invoke, one at a time, and times the process's first
// request for work (ready for invoke) and each answer.
type Runtime struct {
	ln  net.Listener
	srv *http.Server

	work    chan *call
	readyMu sync.Mutex
	readyAt time.Time
	ready   chan struct{} // closed at the first GET /next
	nexts   int           // GET /next requests so far
	againAt time.Time     // the second GET /next: the first invocation ended
	again   chan struct{} // closed then

	mu    sync.Mutex
	calls map[string]*call
	seq   int
}

type call struct {
	id      string
	payload []byte
	answer  []byte
	failed  bool
	sent    time.Time // handed to the process
	at      time.Time
	done    chan struct{}
}

// NewRuntime listens on a free loopback port.
func NewRuntime() (*Runtime, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rt := &Runtime{ln: ln, work: make(chan *call, 1), ready: make(chan struct{}), again: make(chan struct{}), calls: map[string]*call{}}
	rt.srv = &http.Server{Handler: http.HandlerFunc(rt.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rt.srv.Serve(ln) }()
	return rt, nil
}

// Addr is the value of AWS_LAMBDA_RUNTIME_API.
func (rt *Runtime) Addr() string { return rt.ln.Addr().String() }

// Close stops the server.
func (rt *Runtime) Close() error { return rt.srv.Close() }

// ReadyAt is when the process first asked for work (zero if it has not).
func (rt *Runtime) ReadyAt() time.Time {
	rt.readyMu.Lock()
	defer rt.readyMu.Unlock()
	return rt.readyAt
}

// Ended waits (until ctx ends) for the process to ask for its second event,
// which ends its first invocation (Lambda may freeze the process from
// then on), and returns when it asked.
func (rt *Runtime) Ended(ctx context.Context) (time.Time, error) {
	select {
	case <-rt.again:
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("the process did not ask for its next event: %w", ctx.Err())
	}
	rt.readyMu.Lock()
	defer rt.readyMu.Unlock()
	return rt.againAt, nil
}

const base = "/2018-06-01/runtime/"

func (rt *Runtime) serve(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, base)
	switch {
	case r.Method == http.MethodGet && p == "invocation/next":
		rt.readyMu.Lock()
		switch rt.nexts++; rt.nexts {
		case 1:
			rt.readyAt = time.Now()
			close(rt.ready)
		case 2:
			rt.againAt = time.Now()
			close(rt.again)
		}
		rt.readyMu.Unlock()
		select {
		case c := <-rt.work:
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", c.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:bench")
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
			rt.mu.Lock()
			c.sent = time.Now()
			rt.mu.Unlock()
			_, _ = w.Write(c.payload)
		case <-r.Context().Done():
		}
	case r.Method == http.MethodPost && strings.HasPrefix(p, "invocation/"):
		rest := strings.TrimPrefix(p, "invocation/")
		id, kind, _ := strings.Cut(rest, "/")
		body, _ := io.ReadAll(r.Body)
		at := time.Now()
		rt.mu.Lock()
		c := rt.calls[id]
		delete(rt.calls, id)
		rt.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		if c != nil {
			c.answer, c.failed, c.at = body, kind == "error", at
			close(c.done)
		}
	case r.Method == http.MethodPost && p == "init/error":
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, r)
	}
}

// Answer is one invocation's outcome.
type Answer struct {
	Payload []byte
	Failed  bool      // the function returned an error
	Sent    time.Time // when the event was handed to the process
	At      time.Time // when the answer arrived
}

// Invoke hands payload to the process and waits for its answer.
func (rt *Runtime) Invoke(ctx context.Context, payload []byte) (Answer, error) {
	rt.mu.Lock()
	rt.seq++
	c := &call{id: "req-" + strconv.Itoa(rt.seq), payload: payload, done: make(chan struct{})}
	rt.calls[c.id] = c
	rt.mu.Unlock()
	select {
	case rt.work <- c:
	case <-ctx.Done():
		return Answer{}, ctx.Err()
	}
	select {
	case <-c.done:
		rt.mu.Lock()
		sent := c.sent
		rt.mu.Unlock()
		return Answer{Payload: c.answer, Failed: c.failed, Sent: sent, At: c.at}, nil
	case <-ctx.Done():
		return Answer{}, ctx.Err()
	}
}

// Proc is a function binary running against a Runtime.
type Proc struct {
	RT      *Runtime
	Cmd     *exec.Cmd
	Started time.Time
	out     *tail
	exited  chan struct{}
}

// StartProc starts bin with env (KEY=VALUE, nothing inherited) against a
// new Runtime.
func StartProc(bin string, env []string) (*Proc, error) {
	rt, err := NewRuntime()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(append([]string{}, env...), "AWS_LAMBDA_RUNTIME_API="+rt.Addr(), "AWS_LAMBDA_FUNCTION_NAME=bench",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST")
	out := &tail{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Proc{RT: rt, Cmd: cmd, out: out, exited: make(chan struct{})}
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		rt.Close()
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// Invoke is Runtime.Invoke, failing early if the process exits.
func (p *Proc) Invoke(ctx context.Context, payload []byte) (Answer, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	a, err := p.RT.Invoke(ctx, payload)
	if err != nil {
		select {
		case <-p.exited:
			return a, fmt.Errorf("process exited: %s", p.out.String())
		default:
		}
	}
	return a, err
}

// RSS is the process's resident set size in bytes, from /proc.
func (p *Proc) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// Stop kills the process group and the Runtime.
func (p *Proc) Stop() {
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
	_ = p.RT.Close()
}

// tail keeps the last 4 KiB a process wrote, for error messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
