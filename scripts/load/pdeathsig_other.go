//go:build !linux

package main

// dieWithParent has no equivalent here.
func dieWithParent() {}
