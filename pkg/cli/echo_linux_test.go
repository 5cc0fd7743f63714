package cli

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair and returns its terminal side.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open the terminal side: %v", err)
	}
	t.Cleanup(func() { pts.Close() })
	return pts
}

// TestTerminalEchoOffAndRestored drives a real pseudo-terminal: echo goes
// off (line editing and signals stay on) and the restore puts it back.
func TestTerminalEchoOffAndRestored(t *testing.T) {
	pts := openPTY(t)
	fd := int(pts.Fd())
	before, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		t.Fatal(err)
	}
	if before.Lflag&unix.ECHO == 0 {
		t.Skip("the new terminal does not echo")
	}
	sw := stdinEcho(pts)
	if sw == nil {
		t.Fatal("no echo switch for a terminal")
	}
	restore, err := sw.echoOff()
	if err != nil {
		t.Fatal(err)
	}
	during, _ := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if during.Lflag&unix.ECHO != 0 || during.Lflag&unix.ICANON == 0 || during.Lflag&unix.ISIG == 0 {
		t.Errorf("while reading: lflag %#x", during.Lflag)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	after, _ := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if *after != *before {
		t.Errorf("after restore: %+v, want %+v", *after, *before)
	}
}
