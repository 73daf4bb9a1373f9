//go:build !linux

package stripetest

import "os/exec"

// dieWithParent does nothing here: only Linux has a parent-death signal.
// Use Main in TestMain so that the mock is stopped.
func dieWithParent(*exec.Cmd) {}
