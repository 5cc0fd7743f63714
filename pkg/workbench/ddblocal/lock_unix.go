//go:build unix

package ddblocal

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on path, blocking until it is free.
// flock locks belong to the open file, so they exclude other processes and
// other callers in this process alike, and the kernel drops them if the
// process dies.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
