//go:build !unix

package ddblocal

import "sync"

var installMu sync.Mutex

// lockFile serialises installs within this process only: there is no flock
// here, so parallel test binaries may race on a first install.
func lockFile(string) (unlock func(), err error) {
	installMu.Lock()
	return installMu.Unlock, nil
}
