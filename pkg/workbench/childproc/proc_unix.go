//go:build unix && !linux

package childproc

import (
	"os/exec"
	"syscall"
)

// Isolate puts cmd's process in a process group of its own. There is no
// parent-death signal on this platform: stop the child, or it outlives a
// killed parent.
func Isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// SignalGroup sends sig to the process group led by cmd's process.
func SignalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	return syscall.Kill(-cmd.Process.Pid, sig)
}
