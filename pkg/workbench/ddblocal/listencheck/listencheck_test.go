package listencheck

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// check runs LoopbackOnly against this process with a recorder and
// returns what it reported.
func check(t *testing.T, ports ...int) []string {
	t.Helper()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		LoopbackOnly(r, []int{os.Getpid()}, ports...)
	}()
	<-done
	return r.errors
}

func listen(t *testing.T, addr string) int {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func TestLoopbackOnly(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the socket tables are Linux's")
	}
	t.Run("PassesForALoopbackListener", func(t *testing.T) {
		port := listen(t, "127.0.0.1:0")
		if errs := check(t, port); len(errs) > 0 {
			t.Errorf("a 127.0.0.1 listener failed the check: %v", errs)
		}
	})
	t.Run("FailsForAListenerOnEveryInterface", func(t *testing.T) {
		port := listen(t, ":0")
		errs := check(t, port)
		if !strings.Contains(strings.Join(errs, "\n"), "is not bound to a loopback address") {
			t.Errorf("a listener on every interface passed the check: %v", errs)
		}
		hosts, err := NonLoopbackHosts()
		if err != nil {
			t.Fatal(err)
		}
		if len(hosts) > 0 && !strings.Contains(strings.Join(errs, "\n"), "accepts connections") {
			t.Errorf("dialing %v did not reach the listener on every interface: %v", hosts, errs)
		}
	})
	t.Run("FailsForAPortNoProcessHolds", func(t *testing.T) {
		port := listen(t, "127.0.0.1:0")
		errs := check(t, port, port+1)
		if !strings.Contains(strings.Join(errs, "\n"), "is not among the listening sockets") {
			t.Errorf("a port nobody listens on passed the check: %v", errs)
		}
	})
}

func TestListenersReportsBoundAddresses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the socket tables are Linux's")
	}
	v4 := listen(t, "127.0.0.1:0")
	all := listen(t, ":0")
	ls, err := Listeners(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]netip.Addr{}
	for _, l := range ls {
		got[int(l.Addr.Port())] = l.Addr.Addr().Unmap()
	}
	if a := got[v4]; a != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("127.0.0.1:%d listed as %v in %v", v4, a, ls)
	}
	if a, ok := got[all]; !ok || !a.IsUnspecified() {
		t.Errorf(":%d listed as %v in %v, want the unspecified address", all, a, ls)
	}
}

func TestTreeHoldsThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the process table is Linux's")
	}
	pids, err := Tree(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, os.Getpid()) {
		t.Errorf("Tree(self) = %v, want it to hold %d", pids, os.Getpid())
	}
}
