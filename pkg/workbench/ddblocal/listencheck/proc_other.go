//go:build !linux

package listencheck

import "errors"

var errUnsupported = errors.New("listing a process's sockets needs Linux's /proc")

// Listeners needs Linux: elsewhere it returns an error.
func Listeners(pids ...int) ([]Listener, error) { return nil, errUnsupported }

func childrenByParent() (map[int][]int, error) { return nil, errUnsupported }
