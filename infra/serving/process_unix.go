//go:build unix && !linux

package serving

import "syscall"

// processAttributes puts an instance in its own process group, so that a
// signal to the group reaches every process it started. Only Linux has a
// parent-death signal: elsewhere, instances of a runtime that crashes keep
// running until they are killed by hand.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to every process of the group led by pid.
func signalGroup(pid int, sig syscall.Signal) error {
	return syscall.Kill(-pid, sig)
}
