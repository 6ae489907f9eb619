package kubetest

import (
	"os"
	"syscall"
)

// sysProcAttr makes the kernel kill the servers if the test process dies
// without stopping them (go test -timeout, a crash).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// buildProcAttr puts the build script in its own process group, so that
// killGroup stops the go commands it runs too.
func buildProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}
