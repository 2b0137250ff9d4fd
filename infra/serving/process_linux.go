//go:build linux

package serving

import "syscall"

// processAttributes puts an instance in its own process group, so that a
// signal to the group reaches every process it started, and asks the
// kernel to SIGKILL it when the runtime dies, so that no instance outlives
// a runtime that crashed or was killed.
//
// Pitfall: the death signal fires when the OS thread that started the
// child exits, not only when the process does. Go keeps its threads for
// the life of the process, except the thread of a goroutine that exits
// while locked to it (runtime.LockOSThread), so instances must never be
// started from such a goroutine.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to every process of the group led by pid.
func signalGroup(pid int, sig syscall.Signal) error {
	return syscall.Kill(-pid, sig)
}
