package main

import "syscall"

// dieWithParent asks the kernel for SIGTERM when the parent (make) dies, so
// a killed `make load` still stops the stack.
func dieWithParent() {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
}
