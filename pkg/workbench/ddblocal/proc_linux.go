package ddblocal

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts Java in a process group of its own, so Stop can signal
// everything it started, and asks the kernel to SIGKILL it when the process
// that started it dies (a test binary killed by a timeout or ^C), so no
// DynamoDB Local is ever orphaned.
//
// Pdeathsig fires when the starting OS thread exits, not only the process;
// the Go runtime keeps threads alive unless a goroutine exits while locked
// to one with runtime.LockOSThread, which Start never does.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to the process group led by cmd's process.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	return syscall.Kill(-cmd.Process.Pid, sig)
}
