package childproc

import (
	"os/exec"
	"syscall"
)

// Isolate puts cmd's process in a process group of its own, so SignalGroup
// reaches everything it starts, and has the kernel SIGKILL it when the
// process that started it dies (a test binary killed by a timeout or ^C).
//
// Pdeathsig fires when the starting OS thread exits, not only the process;
// the Go runtime keeps its threads unless a goroutine exits while locked to
// one with runtime.LockOSThread, which the callers never do.
func Isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// SignalGroup sends sig to the process group led by cmd's process.
func SignalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	return syscall.Kill(-cmd.Process.Pid, sig)
}
