//go:build !unix

package ddblocal

import (
	"os/exec"
	"syscall"
)

// setProcAttr does nothing here: without process groups or a parent-death
// signal, Stop kills the Java process alone.
func setProcAttr(*exec.Cmd) {}

// signalGroup kills cmd's process; there is no gentler signal or group here.
func signalGroup(cmd *exec.Cmd, _ syscall.Signal) error {
	return cmd.Process.Kill()
}
