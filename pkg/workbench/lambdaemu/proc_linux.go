package lambdaemu

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the process in a process group of its own, so a timeout
// or Close kills everything it started, and has the kernel SIGKILL it if
// the emulator dies without cleaning up, so no bootstrap is ever orphaned.
//
// Pdeathsig fires when the starting OS thread exits; the Go runtime keeps
// its threads unless a goroutine exits while locked to one, which this
// package never does.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to the process group led by cmd's process.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	return syscall.Kill(-cmd.Process.Pid, sig)
}
