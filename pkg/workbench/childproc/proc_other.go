//go:build !unix

package childproc

import (
	"os/exec"
	"syscall"
)

// Isolate does nothing here: there are no process groups or parent-death
// signal.
func Isolate(*exec.Cmd) {}

// SignalGroup kills cmd's process; there is no gentler signal or group here.
func SignalGroup(cmd *exec.Cmd, _ syscall.Signal) error {
	return cmd.Process.Kill()
}
