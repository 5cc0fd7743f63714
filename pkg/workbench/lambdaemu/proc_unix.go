//go:build unix && !linux

package lambdaemu

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the process in a process group of its own. There is no
// parent-death signal on this platform: Close the Function, or the process
// outlives a killed emulator.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the process group led by cmd's process.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	return syscall.Kill(-cmd.Process.Pid, sig)
}
