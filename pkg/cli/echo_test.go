package cli

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
)

// fakeEcho records the echo switch's calls.
type fakeEcho struct {
	mu            sync.Mutex
	off, restored int
	fail          error
}

func (f *fakeEcho) echoOff() (func() error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	f.off++
	return func() error { f.mu.Lock(); f.restored++; f.mu.Unlock(); return nil }, nil
}

func (f *fakeEcho) counts() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.off, f.restored
}

func TestWithEchoOffRestoresOnReturnAndError(t *testing.T) {
	for _, readErr := range []error{nil, errors.New("read failed")} {
		sw := &fakeEcho{}
		var stderr strings.Builder
		got, err := withEchoOff(sw, nil, func(os.Signal) { t.Fatal("no signal") }, &stderr, func() (string, error) {
			if off, restored := sw.counts(); off != 1 || restored != 0 {
				t.Errorf("while reading: off %d restored %d", off, restored)
			}
			return "tok", readErr
		})
		if got != "tok" || err != readErr {
			t.Errorf("got %q %v", got, err)
		}
		if off, restored := sw.counts(); off != 1 || restored != 1 || stderr.String() != "\n" {
			t.Errorf("after: off %d restored %d stderr %q", off, restored, stderr.String())
		}
	}
}

func TestWithEchoOffRestoresOnPanic(t *testing.T) {
	sw := &fakeEcho{}
	func() {
		defer func() { _ = recover() }()
		_, _ = withEchoOff(sw, nil, func(os.Signal) {}, &strings.Builder{}, func() (string, error) { panic("boom") })
	}()
	if _, restored := sw.counts(); restored != 1 {
		t.Errorf("restored %d times after a panic", restored)
	}
}

func TestWithEchoOffRestoresBeforeSignalExit(t *testing.T) {
	sw := &fakeEcho{}
	sigs := make(chan os.Signal, 1)
	exited := make(chan int, 1)
	release := make(chan struct{})
	go func() {
		_, _ = withEchoOff(sw, sigs, func(os.Signal) {
			_, restored := sw.counts()
			exited <- restored
			close(release)
		}, &strings.Builder{}, func() (string, error) {
			sigs <- os.Interrupt // Ctrl-C while the user types
			<-release
			return "", nil
		})
	}()
	if restored := <-exited; restored != 1 {
		t.Errorf("terminal restored %d times before the exit", restored)
	}
	if _, restored := sw.counts(); restored != 1 {
		t.Errorf("restored %d times in all", restored)
	}
}

func TestWithEchoOffNotATerminalReadsAsIs(t *testing.T) {
	sw := &fakeEcho{fail: errors.New("inappropriate ioctl")}
	var stderr strings.Builder
	got, err := withEchoOff(sw, nil, nil, &stderr, func() (string, error) { return "tok", nil })
	if got != "tok" || err != nil || stderr.Len() != 0 {
		t.Errorf("got %q %v stderr %q", got, err, stderr.String())
	}
}

func TestReadSecretFromPipeHasNoPrompt(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { _, _ = w.WriteString("kw_tok_example\n"); w.Close() }()
	var stderr strings.Builder
	a := &app{io: IO{Stdin: r, Stderr: &stderr}}
	got, err := a.readSecret("Paste: ")
	if got != "kw_tok_example" || err != nil || stderr.Len() != 0 {
		t.Errorf("got %q %v stderr %q", got, err, stderr.String())
	}
	// A pipe is no terminal: the ioctl fails and the switch says so.
	if sw := stdinEcho(r); sw != nil {
		if _, err := sw.echoOff(); err == nil {
			t.Error("echo switched off on a pipe")
		}
	}
	if stdinEcho(strings.NewReader("x")) != nil {
		t.Error("a non-file reader has an echo switch")
	}
}

func TestReadSecretTerminalWithoutSwitchWarns(t *testing.T) {
	var stderr strings.Builder
	a := &app{io: IO{Stdin: strings.NewReader("tok\n"), Stderr: &stderr, StdinTTY: true}}
	got, err := a.readSecret("Paste: ")
	if got != "tok" || err != nil || !strings.Contains(stderr.String(), "warning") || !strings.HasSuffix(stderr.String(), "Paste: ") {
		t.Errorf("got %q %v stderr %q", got, err, stderr.String())
	}
}
