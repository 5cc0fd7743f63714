package lambdaemu

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keyward/keyward/pkg/workbench/childproc"
	"github.com/keyward/keyward/pkg/workbench/console"
)

// Runtime API paths (aws-lambda-go and every other runtime use these).
const (
	runtimePrefix   = "/2018-06-01/runtime/"
	extensionPrefix = "/2020-01-01/extension/"
)

// Restart back-off for processes that die soon after starting.
const (
	minBackoff  = 100 * time.Millisecond
	maxBackoff  = 5 * time.Second
	healthyTime = 2 * time.Second // a process that lived this long resets the back-off
	stopGrace   = time.Second
)

// instance is one process slot of a Function: it runs the binary, restarts
// it when it exits, and serves it a Runtime API endpoint of its own.
type instance struct {
	f      *Function
	n      int
	stopCh chan struct{}
	once   sync.Once

	mu   sync.Mutex
	proc *process // the running process, nil between runs
}

// process is one run of the binary with its Runtime API server.
type process struct {
	in      *instance
	cmd     *exec.Cmd
	srv     *http.Server
	started time.Time

	mu       sync.Mutex
	dead     bool
	asked    bool        // called /next at least once: initialised
	current  *invocation // the invocation it holds
	timer    *time.Timer
	initErr  []byte // body of /runtime/init/error
	timedOut bool
}

// stop ends the slot: no more restarts, the process is terminated.
func (in *instance) stop() {
	in.once.Do(func() { close(in.stopCh) })
	in.mu.Lock()
	p := in.proc
	in.mu.Unlock()
	if p != nil {
		p.terminate()
	}
}

// run starts the process and restarts it whenever it exits, until stop.
func (in *instance) run() {
	backoff := minBackoff
	for {
		select {
		case <-in.stopCh:
			return
		default:
		}
		p, err := in.startProcess()
		if err != nil {
			in.f.log.Error("cannot start process", "instance", in.n, "error", err)
			in.f.noteInitFailure(errorResult("Runtime.StartError", "RequestId: Error: "+err.Error()))
		} else {
			in.mu.Lock()
			in.proc = p
			in.mu.Unlock()
			// stop may have run before proc was set.
			select {
			case <-in.stopCh:
				p.terminate()
			default:
			}
			waitErr := p.cmd.Wait()
			in.mu.Lock()
			in.proc = nil
			in.mu.Unlock()
			p.exited(waitErr)
			if time.Since(p.started) >= healthyTime {
				backoff = minBackoff
			}
		}
		select {
		case <-in.stopCh:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// startProcess starts the binary with a fresh Runtime API listener.
func (in *instance) startProcess() (*process, error) {
	f := in.f
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	p := &process{in: in}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimePrefix+"invocation/next", p.next)
	mux.HandleFunc("POST "+runtimePrefix+"invocation/{id}/response", p.response)
	mux.HandleFunc("POST "+runtimePrefix+"invocation/{id}/error", p.invocationError)
	mux.HandleFunc("POST "+runtimePrefix+"init/error", p.initError)
	mux.HandleFunc("POST "+extensionPrefix+"register", p.registerExtension)
	mux.HandleFunc("GET "+extensionPrefix+"event/next", p.extensionNext)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	cmd := exec.Command(f.cfg.Path)
	cmd.Dir = dirOf(f.cfg.Path)
	cmd.Env = append(append([]string{}, f.cfg.Env...),
		"AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME="+f.cfg.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(f.cfg.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+f.cfg.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=local/"+strconv.Itoa(in.n),
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"LAMBDA_TASK_ROOT="+cmd.Dir,
		"LAMBDA_RUNTIME_DIR="+cmd.Dir,
		"_HANDLER=bootstrap",
		"TZ=:UTC",
	)
	stdout, stderr := console.NewLines(f.cfg.Output), console.NewLines(f.cfg.Output)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Output still held open by something the binary started must not
	// keep Wait from returning.
	cmd.WaitDelay = time.Second
	childproc.Isolate(cmd)
	if err := cmd.Start(); err != nil {
		_ = ln.Close()
		return nil, err
	}
	p.cmd = cmd
	p.started = time.Now()
	// Serve only now that p is complete: the process's first connection
	// waits in the listener's backlog meanwhile.
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// exited is called once the process has exited: it fails the invocation
// the process held and reports an init failure if it never asked for work.
func (p *process) exited(waitErr error) {
	f := p.in.f
	p.mu.Lock()
	p.dead = true
	cur, asked, timedOut, initBody := p.current, p.asked, p.timedOut, p.initErr
	p.current = nil
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	_ = p.srv.Close() // also ends handlers still blocked in /next
	// Anything the binary started dies with it.
	_ = childproc.SignalGroup(p.cmd, syscall.SIGKILL)
	_ = p.cmd.Stdout.(*console.Lines).Close()
	_ = p.cmd.Stderr.(*console.Lines).Close()

	stopping := false
	select {
	case <-p.in.stopCh:
		stopping = true
	default:
	}
	status := exitStatus(waitErr)
	switch {
	case cur != nil:
		if !timedOut && !stopping {
			f.log.Warn("process exited during an invocation; restarting", "instance", p.in.n, "requestId", cur.id, "status", status)
		}
		cur.finish(errorResult("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", cur.id, status)))
	case !asked && !stopping:
		f.log.Error("process exited during init; restarting", "instance", p.in.n, "status", status)
		r := errorResult("Runtime.ExitError", "RequestId: Error: Runtime exited during init: "+status)
		if len(initBody) > 0 {
			r = Result{Payload: initBody, FunctionError: "Unhandled"}
		}
		f.noteInitFailure(r)
		f.mu.Lock()
		f.healthy = false
		f.mu.Unlock()
	case !stopping && !timedOut:
		f.log.Warn("process exited; restarting", "instance", p.in.n, "status", status)
	}
}

// terminate asks the process to stop (SIGTERM to its group) and kills it
// after stopGrace.
func (p *process) terminate() {
	_ = childproc.SignalGroup(p.cmd, syscall.SIGTERM)
	go func() {
		time.Sleep(stopGrace)
		p.mu.Lock()
		dead := p.dead
		p.mu.Unlock()
		if !dead {
			_ = childproc.SignalGroup(p.cmd, syscall.SIGKILL)
		}
	}()
}

// next hands the process the next invocation, blocking until there is one.
func (p *process) next(w http.ResponseWriter, r *http.Request) {
	f := p.in.f
	p.mu.Lock()
	p.asked = true
	if p.current != nil {
		// Asking again without answering: Lambda treats it as an error of
		// the held invocation.
		cur := p.current
		p.current = nil
		if p.timer != nil {
			p.timer.Stop()
		}
		cur.finish(errorResult("Runtime.InvalidResponse", "RequestId: "+cur.id+" Error: runtime asked for the next invocation without answering this one"))
	}
	p.mu.Unlock()

	f.mu.Lock()
	f.idle++
	f.healthy = true
	f.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-f.queue:
	case <-r.Context().Done():
	case <-p.in.stopCh:
		// Shutting down: leave the runtime waiting, as Lambda does, until
		// the process is gone (an error answer would only make it log).
		<-r.Context().Done()
	}
	f.mu.Lock()
	f.idle--
	f.mu.Unlock()
	if inv == nil {
		return
	}

	p.mu.Lock()
	if p.dead {
		p.mu.Unlock()
		f.requeue(inv)
		return
	}
	inv.started = time.Now()
	inv.deadline = inv.started.Add(f.cfg.Timeout)
	p.current = inv
	p.timer = time.AfterFunc(f.cfg.Timeout, func() { p.timeout(inv) })
	p.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", f.arn)
	h.Set("Lambda-Runtime-Trace-Id", traceID(inv.started, inv.id))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// timeout kills a process still holding inv when its time is up.
func (p *process) timeout(inv *invocation) {
	f := p.in.f
	p.mu.Lock()
	if p.current != inv || p.dead {
		p.mu.Unlock()
		return
	}
	p.current = nil
	p.timedOut = true
	p.mu.Unlock()
	secs := f.cfg.Timeout.Seconds()
	inv.finish(errorResult("", fmt.Sprintf("%s %s Task timed out after %.2f seconds",
		time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, secs)))
	f.log.Warn("invocation timed out; killing the process", "instance", p.in.n, "requestId", inv.id, "timeout", f.cfg.Timeout)
	_ = childproc.SignalGroup(p.cmd, syscall.SIGKILL)
}

// take removes and returns the invocation id if the process holds it.
func (p *process) take(id string) *invocation {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.current
	if cur == nil || cur.id != id {
		return nil
	}
	p.current = nil
	if p.timer != nil {
		p.timer.Stop()
	}
	return cur
}

// response records a successful invocation's payload.
func (p *process) response(w http.ResponseWriter, r *http.Request) {
	body, errType, errBody, err := readRuntimeBody(r)
	inv := p.take(r.PathValue("id"))
	if inv == nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation with this request ID is in flight")
		return
	}
	switch {
	case err != nil:
		inv.finish(errorResult("Function.ResponseSizeTooLarge", err.Error()))
	case errType != "":
		inv.finish(Result{Payload: errBody, FunctionError: "Unhandled"})
	default:
		inv.finish(Result{Payload: body})
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

// invocationError records a function error.
func (p *process) invocationError(w http.ResponseWriter, r *http.Request) {
	body, _, _, err := readRuntimeBody(r)
	inv := p.take(r.PathValue("id"))
	if inv == nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation with this request ID is in flight")
		return
	}
	if err != nil || !jsonObject(body) {
		typ := r.Header.Get("Lambda-Runtime-Function-Error-Type")
		if typ == "" {
			typ = "Runtime.Unknown"
		}
		inv.finish(errorResult(typ, "the runtime reported an error without a JSON error document"))
	} else {
		inv.finish(Result{Payload: body, FunctionError: "Unhandled"})
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

// initError records an init failure reported by the runtime; the process
// exits afterwards and exited reports it.
func (p *process) initError(w http.ResponseWriter, r *http.Request) {
	body, _, _, _ := readRuntimeBody(r)
	if jsonObject(body) {
		p.mu.Lock()
		p.initErr = body
		p.mu.Unlock()
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

// registerExtension accepts an internal extension (aws-lambda-go registers
// one to receive SIGTERM); it is never sent events.
func (p *process) registerExtension(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Lambda-Extension-Identifier", newRequestID())
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"functionName":%q,"functionVersion":"$LATEST","handler":"bootstrap"}`, p.in.f.cfg.Name)
}

// extensionNext blocks until the process goes away: no extension events are
// emitted locally.
func (p *process) extensionNext(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.in.stopCh:
	}
}

// readRuntimeBody reads a response or error body up to MaxPayloadBytes, and
// the error a streaming runtime reports in trailers.
func readRuntimeBody(r *http.Request) (body []byte, errType string, errBody []byte, err error) {
	body, err = io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	if err == nil && len(body) > MaxPayloadBytes {
		err = fmt.Errorf("response payload is over the %d-byte limit", MaxPayloadBytes)
	}
	if t := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
		errType = t
		errBody = []byte(fmt.Sprintf(`{"errorType":%q,"errorMessage":"the function failed while streaming its response"}`, t))
	}
	return body, errType, errBody, err
}

func runtimeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errorType":%q,"errorMessage":%q}`, typ, msg)
}

func jsonObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 1 && b[0] == '{'
}

// traceID is an X-Ray style trace header for the invocation.
func traceID(t time.Time, reqID string) string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", t.Unix(), strings.ReplaceAll(reqID, "-", "")[:24], strings.ReplaceAll(reqID, "-", "")[:16])
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	return err.Error()
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i > 0 {
		return path[:i]
	}
	return "."
}
