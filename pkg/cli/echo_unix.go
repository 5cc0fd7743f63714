//go:build linux || darwin

package cli

import "golang.org/x/sys/unix"

// fdEcho switches echo on a terminal's file descriptor with termios ioctls.
type fdEcho struct{ fd int }

func terminalEcho(fd int) echoSwitch { return fdEcho{fd} }

func (t fdEcho) echoOff() (func() error, error) {
	old, err := unix.IoctlGetTermios(t.fd, ioctlGetTermios)
	if err != nil {
		return nil, err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG // line editing and Ctrl-C still work
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(t.fd, ioctlSetTermios, &quiet); err != nil {
		return nil, err
	}
	return func() error { return unix.IoctlSetTermios(t.fd, ioctlSetTermios, old) }, nil
}
