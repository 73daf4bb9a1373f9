package stripetest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill stripe-mock when the test binary
// ends, however it ends, so that no mock outlives its tests.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
