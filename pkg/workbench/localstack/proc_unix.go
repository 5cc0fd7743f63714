//go:build unix

package localstack

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive, non-blocking flock on path, so two stacks
// never share a data directory (DynamoDB Local's files would not survive
// it). The kernel drops the lock when the process dies.
func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
