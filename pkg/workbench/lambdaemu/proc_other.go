//go:build !unix

package lambdaemu

import (
	"os/exec"
	"syscall"
)

// setProcAttr does nothing here: there are no process groups.
func setProcAttr(*exec.Cmd) {}

// signalGroup kills cmd's process; there is no gentler signal or group here.
func signalGroup(cmd *exec.Cmd, _ syscall.Signal) error {
	return cmd.Process.Kill()
}
