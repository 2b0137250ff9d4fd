package main

// The CPU time DynamoDB Local spends, read from /proc. On a small machine
// DynamoDB Local (a Java process) is the bottleneck of measurement 1, so
// its CPU seconds per command say where a command's time goes.

import (
	"context"
	"fmt"
	"time"

	"github.com/carrot-market/carrot/tests/system"
)

// storageCPU reads the CPU time of the process serving DynamoDB.
type storageCPU struct {
	pid int // 0: unknown, every reading is 0
}

// newStorageCPU finds the process listening on the port of endpoint
// (DYNAMODB_ENDPOINT). Other DynamoDB Local processes on the machine, such
// as those of tests running meanwhile, are told apart by that port. When
// it cannot be found the readings are zero and a warning says why.
func newStorageCPU(endpoint string) storageCPU {
	pid, err := listener(endpoint)
	if err != nil {
		warnf("no CPU time of DynamoDB Local: %v", err)
		return storageCPU{}
	}
	progress(fmt.Sprintf("DynamoDB Local at %s is process %d", endpoint, pid))
	return storageCPU{pid: pid}
}

// now returns the process's user and system CPU time so far.
func (s storageCPU) now() time.Duration {
	if s.pid == 0 {
		return 0
	}
	t, err := cpuTime(s.pid)
	if err != nil {
		warnf("CPU time of DynamoDB Local: %v", err)
		return 0
	}
	return t
}

// known reports whether the readings mean anything.
func (s storageCPU) known() bool { return s.pid != 0 }

// goCPU reads the CPU time of carrot's own processes in a gateway run:
// the runtime (gateway, activator, broker, Kafka) and the instances of
// one function. Beside DynamoDB Local's it shows what the HTTP hops cost
// on a machine whose cores they share with the storage.
type goCPU struct {
	sys *system.System
	fn  string
	at  map[int]time.Duration // CPU time per pid when the run started
}

// startGoCPU notes the CPU time of the runtime and of fn's instances.
func startGoCPU(sys *system.System, fn string) goCPU {
	g := goCPU{sys: sys, fn: fn, at: map[int]time.Duration{}}
	for _, pid := range g.pids() {
		g.at[pid], _ = cpuTime(pid)
	}
	return g
}

// used returns the CPU time those processes, and instances started since,
// have used since startGoCPU. An instance stopped meanwhile is missed.
func (g goCPU) used() time.Duration {
	var sum time.Duration
	for _, pid := range g.pids() {
		if t, err := cpuTime(pid); err == nil {
			sum += t - g.at[pid]
		}
	}
	return sum
}

func (g goCPU) pids() []int {
	var pids []int
	if pid := g.sys.PID(); pid != 0 {
		pids = append(pids, pid)
	}
	st, err := g.sys.Status(context.Background())
	if err != nil {
		return pids
	}
	for _, in := range st.Function(g.fn).Instances {
		if in.PID > 0 {
			pids = append(pids, in.PID)
		}
	}
	return pids
}
