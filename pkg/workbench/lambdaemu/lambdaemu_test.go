package lambdaemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keyward/keyward/pkg/workbench/lambdaemu"
)

// helperEnv makes the test binary act as a Lambda function: the tests run
// it as the bootstrap behind the emulator.
const helperEnv = "LAMBDAEMU_TEST_FUNCTION"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "initfail":
		fmt.Fprintln(os.Stderr, "init failed: KEYS_TABLE is not set")
		os.Exit(3)
	default:
		lambda.Start(handle)
	}
}

type event struct {
	Op    string `json:"op"`
	Ms    int    `json:"ms"`
	Value string `json:"value"`
}

type reply struct {
	Value       string  `json:"value"`
	PID         int     `json:"pid"`
	Function    string  `json:"function"`
	ARN         string  `json:"arn"`
	RequestID   string  `json:"requestId"`
	DeadlineIn  float64 `json:"deadlineIn"`
	CustomEnv   string  `json:"customEnv"`
	RuntimeAddr string  `json:"runtimeAddr"`
}

func handle(ctx context.Context, e event) (reply, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	dl, _ := ctx.Deadline()
	r := reply{
		Value: e.Value, PID: os.Getpid(), Function: lambdacontext.FunctionName,
		ARN: lc.InvokedFunctionArn, RequestID: lc.AwsRequestID, DeadlineIn: time.Until(dl).Seconds(),
		CustomEnv: os.Getenv("CUSTOM"), RuntimeAddr: os.Getenv("AWS_LAMBDA_RUNTIME_API"),
	}
	switch e.Op {
	case "sleep":
		time.Sleep(time.Duration(e.Ms) * time.Millisecond)
	case "error":
		return r, errors.New("boom: " + e.Value)
	case "panic":
		panic("panic: " + e.Value)
	case "exit":
		fmt.Println("exiting on request")
		os.Exit(2)
	}
	fmt.Printf("handled %s\n", e.Op)
	return r, nil
}

// lines collects Output lines.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l = append(l.l, string(p))
	return len(p), nil
}

// contains reports whether a line containing s arrives within 5 s (a
// process's output may trail its response).
func (l *lines) contains(s string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, x := range l.snapshot() {
			if strings.Contains(x, s) {
				return true
			}
		}
	}
	return false
}

func (l *lines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.l...)
}

func startFunction(t *testing.T, mode string, adjust func(*lambdaemu.Config)) (*lambdaemu.Function, *lines) {
	t.Helper()
	out := &lines{}
	cfg := lambdaemu.Config{
		Name:    "TestFunction",
		Path:    os.Args[0],
		Env:     []string{helperEnv + "=" + mode, "CUSTOM=custom-value"},
		Timeout: 5 * time.Second,
		Output:  out,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	f, err := lambdaemu.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f, out
}

func invoke(t *testing.T, f *lambdaemu.Function, e event) (*lambdaemu.Result, reply) {
	t.Helper()
	payload, _ := json.Marshal(e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := f.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	var r reply
	if res.FunctionError == "" {
		if err := json.Unmarshal(res.Payload, &r); err != nil {
			t.Fatalf("payload %s: %v", res.Payload, err)
		}
	}
	return res, r
}

func errorDoc(t *testing.T, res *lambdaemu.Result) (typ, msg string) {
	t.Helper()
	if res.FunctionError != "Unhandled" {
		t.Fatalf("FunctionError = %q, want Unhandled (payload %s)", res.FunctionError, res.Payload)
	}
	var doc struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal(res.Payload, &doc); err != nil {
		t.Fatalf("error payload %s: %v", res.Payload, err)
	}
	return doc.ErrorType, doc.ErrorMessage
}

func TestInvokeRunsTheRealBinary(t *testing.T) {
	f, out := startFunction(t, "ok", nil)
	res, r := invoke(t, f, event{Op: "echo", Value: "hello"})
	if res.FunctionError != "" {
		t.Fatalf("function error %s", res.Payload)
	}
	if r.Value != "hello" || r.Function != "TestFunction" || r.ARN != f.ARN() || r.RequestID != res.RequestID || r.CustomEnv != "custom-value" {
		t.Errorf("reply = %+v, result = %+v", r, res)
	}
	if !strings.HasPrefix(r.RuntimeAddr, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want loopback", r.RuntimeAddr)
	}
	if r.DeadlineIn <= 4 || r.DeadlineIn > 5 {
		t.Errorf("deadline in %.2f s, want just under the 5 s timeout", r.DeadlineIn)
	}
	if !out.contains("handled echo") {
		t.Errorf("output %q lacks the function's line", out.snapshot())
	}
}

func TestConcurrentInvocationsGetProcessesOfTheirOwn(t *testing.T) {
	f, _ := startFunction(t, "ok", func(c *lambdaemu.Config) { c.MaxConcurrency = 3 })
	invoke(t, f, event{Op: "echo"}) // the first process is up
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		pids = map[int]bool{}
	)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, r := invoke(t, f, event{Op: "sleep", Ms: 400})
			mu.Lock()
			pids[r.PID] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(pids) < 2 || len(pids) > 3 {
		t.Errorf("6 concurrent invocations ran in %d processes, want 2-3", len(pids))
	}
}

func TestFunctionErrorIsUnhandled(t *testing.T) {
	f, _ := startFunction(t, "ok", nil)
	res, _ := invoke(t, f, event{Op: "error", Value: "x"})
	if _, msg := errorDoc(t, res); msg != "boom: x" {
		t.Errorf("errorMessage = %q", msg)
	}
}

func TestCrashedProcessIsRestarted(t *testing.T) {
	for _, op := range []string{"panic", "exit"} {
		t.Run(op, func(t *testing.T) {
			f, _ := startFunction(t, "ok", func(c *lambdaemu.Config) { c.MaxConcurrency = 1 })
			_, before := invoke(t, f, event{Op: "echo"})
			res, _ := invoke(t, f, event{Op: op, Value: "x"})
			typ, msg := errorDoc(t, res)
			if op == "exit" && (typ != "Runtime.ExitError" || !strings.Contains(msg, "exit status 2")) {
				t.Errorf("exit error = %q %q", typ, msg)
			}
			if op == "panic" && !strings.Contains(msg, "panic: x") {
				t.Errorf("panic error = %q %q", typ, msg)
			}
			res, after := invoke(t, f, event{Op: "echo", Value: "again"})
			if res.FunctionError != "" || after.Value != "again" {
				t.Fatalf("after the crash: %s", res.Payload)
			}
			if after.PID == before.PID {
				t.Errorf("same process %d before and after the crash", after.PID)
			}
		})
	}
}

func TestTimeoutKillsTheProcess(t *testing.T) {
	f, _ := startFunction(t, "ok", func(c *lambdaemu.Config) { c.Timeout = 500 * time.Millisecond; c.MaxConcurrency = 1 })
	_, before := invoke(t, f, event{Op: "echo"})
	start := time.Now()
	res, _ := invoke(t, f, event{Op: "sleep", Ms: 10000})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timed-out invocation took %v", d)
	}
	if _, msg := errorDoc(t, res); !strings.Contains(msg, "Task timed out after 0.50 seconds") {
		t.Errorf("errorMessage = %q", msg)
	}
	if !processGone(before.PID) {
		t.Errorf("process %d still runs after the timeout", before.PID)
	}
	_, after := invoke(t, f, event{Op: "echo"})
	if after.PID == before.PID {
		t.Errorf("no new process after the timeout")
	}
}

func TestInitFailureFailsWaitingInvocations(t *testing.T) {
	f, out := startFunction(t, "initfail", nil)
	start := time.Now()
	res, _ := invoke(t, f, event{Op: "echo"})
	if typ, msg := errorDoc(t, res); typ != "Runtime.ExitError" || !strings.Contains(msg, "exit status 3") {
		t.Errorf("error = %q %q", typ, msg)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("init failure reported after %v", d)
	}
	if !out.contains("KEYS_TABLE is not set") {
		t.Errorf("output %q lacks the init error", out.snapshot())
	}
}

func TestCloseStopsEveryProcess(t *testing.T) {
	f, _ := startFunction(t, "ok", nil)
	_, r := invoke(t, f, event{Op: "echo"})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if !processGone(r.PID) {
		t.Errorf("process %d survived Close", r.PID)
	}
	if _, err := f.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, lambdaemu.ErrClosed) {
		t.Errorf("Invoke after Close = %v, want ErrClosed", err)
	}
}

func TestInvokeAPI(t *testing.T) {
	f, _ := startFunction(t, "ok", nil)
	mux := http.NewServeMux()
	(&lambdaemu.InvokeAPI{
		Lookup: func(name string) *lambdaemu.Function {
			if name == f.Name() {
				return f
			}
			return nil
		},
		List: func() []*lambdaemu.Function { return []*lambdaemu.Function{f} },
	}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(name, body string, hdr map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/2015-03-31/functions/"+name+"/invocations", strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	read := func(resp *http.Response) string {
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	t.Run("ByNameAndARN", func(t *testing.T) {
		for _, name := range []string{"TestFunction", f.ARN(), "000000000000:function:TestFunction:$LATEST"} {
			resp := post(name, `{"op":"echo","value":"v"}`, nil)
			if body := read(resp); resp.StatusCode != 200 || !strings.Contains(body, `"value":"v"`) || resp.Header.Get("X-Amz-Function-Error") != "" {
				t.Errorf("%s: %d %s", name, resp.StatusCode, body)
			}
		}
	})
	t.Run("FunctionErrorHeader", func(t *testing.T) {
		resp := post("TestFunction", `{"op":"error","value":"v"}`, nil)
		if body := read(resp); resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" || !strings.Contains(body, "boom: v") {
			t.Errorf("%d %v %s", resp.StatusCode, resp.Header, body)
		}
	})
	t.Run("UnknownFunctionIs404", func(t *testing.T) {
		resp := post("Nope", `{}`, nil)
		if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-Errortype") != "ResourceNotFoundException" {
			t.Errorf("%d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("InvalidJSONIs400", func(t *testing.T) {
		resp := post("TestFunction", `{`, nil)
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "InvalidRequestContentException" {
			t.Errorf("%d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("ListAndGetFunction", func(t *testing.T) {
		for _, path := range []string{"/2015-03-31/functions/", "/2015-03-31/functions/TestFunction"} {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body := read(resp)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(body, `"FunctionName":"TestFunction"`) || !strings.Contains(body, `"Timeout":5`) {
				t.Errorf("GET %s = %d %s", path, resp.StatusCode, body)
			}
		}
	})
	t.Run("EventIs202AndDryRun204", func(t *testing.T) {
		if resp := post("TestFunction", `{}`, map[string]string{"X-Amz-Invocation-Type": "Event"}); resp.StatusCode != 202 {
			t.Errorf("Event: %d", resp.StatusCode)
		}
		if resp := post("TestFunction", `{}`, map[string]string{"X-Amz-Invocation-Type": "DryRun"}); resp.StatusCode != 204 {
			t.Errorf("DryRun: %d", resp.StatusCode)
		}
	})
}

// processGone reports whether pid no longer runs (or is a zombie).
func processGone(pid int) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			return true
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			return true
		}
	}
	return false
}
