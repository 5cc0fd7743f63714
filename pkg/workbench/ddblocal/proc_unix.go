//go:build unix && !linux

package ddblocal

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts Java in a process group of its own so Stop can signal
// everything it started. There is no parent-death signal on this platform:
// call Stop (ddblocaltest.Run does) or Java outlives a killed test binary.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the process group led by cmd's process.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	return syscall.Kill(-cmd.Process.Pid, sig)
}
