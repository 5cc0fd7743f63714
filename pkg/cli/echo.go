package cli

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// echoSwitch turns a terminal's echo off; restore puts back the state it found.
type echoSwitch interface {
	echoOff() (restore func() error, err error)
}

// stdinEcho is the echo switch of the process's stdin when it is a terminal
// this platform can drive, or nil (then the caller reads with echo on).
func stdinEcho(stdin io.Reader) echoSwitch {
	f, ok := stdin.(*os.File)
	if !ok {
		return nil
	}
	return terminalEcho(int(f.Fd()))
}

// withEchoOff runs read with sw's echo off and restores the terminal on every
// exit: a normal return, a panic, or a signal on sigs (then onSignal runs after
// the restore; it normally exits the process). A newline goes to stderr after,
// since the user's Enter was not echoed.
func withEchoOff(sw echoSwitch, sigs <-chan os.Signal, onSignal func(os.Signal), stderr io.Writer, read func() (string, error)) (string, error) {
	restore, err := sw.echoOff()
	if err != nil {
		return read() // not a terminal after all: read as is
	}
	var once sync.Once
	put := func() { once.Do(func() { _ = restore(); fmt.Fprintln(stderr) }) }
	done := make(chan struct{})
	defer close(done)
	defer put()
	go func() {
		select {
		case s := <-sigs:
			put()
			onSignal(s)
		case <-done:
		}
	}()
	return read()
}

// readHidden reads with the terminal's echo off, restoring it on Ctrl-C
// (exit 130) or SIGTERM (exit 143) as well.
func readHidden(sw echoSwitch, stderr io.Writer, read func() (string, error)) (string, error) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	return withEchoOff(sw, sigs, func(s os.Signal) {
		if s == syscall.SIGTERM {
			os.Exit(143)
		}
		os.Exit(130)
	}, stderr, read)
}
