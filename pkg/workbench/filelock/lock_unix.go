//go:build unix

// Package filelock takes exclusive flock locks on files, for the local
// tooling: one install of DynamoDB Local at a time, one stack per data
// directory. flock locks belong to the open file, so they exclude other
// processes and other callers in this process alike, and the kernel drops
// them if the process dies.
package filelock

import (
	"os"
	"syscall"
)

// Lock takes an exclusive lock on path (created with mode perm), blocking
// until it is free.
func Lock(path string, perm os.FileMode) (unlock func(), err error) {
	return lock(path, perm, syscall.LOCK_EX)
}

// TryLock takes an exclusive lock on path or fails at once if another
// holds it.
func TryLock(path string, perm os.FileMode) (unlock func(), err error) {
	return lock(path, perm, syscall.LOCK_EX|syscall.LOCK_NB)
}

func lock(path string, perm os.FileMode, how int) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
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
