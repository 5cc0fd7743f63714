//go:build !unix

// Package filelock takes exclusive locks on files for the local tooling;
// without flock they hold within this process only.
package filelock

import (
	"os"
	"sync"
)

var mu sync.Mutex

// Lock serialises callers within this process only.
func Lock(string, os.FileMode) (unlock func(), err error) {
	mu.Lock()
	return mu.Unlock, nil
}

// TryLock does not lock: do not run two stacks on one data directory.
func TryLock(string, os.FileMode) (unlock func(), err error) { return func() {}, nil }
