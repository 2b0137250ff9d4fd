package main

// The CPU time DynamoDB Local spends, read from /proc. On a small machine
// DynamoDB Local (a Java process) is the bottleneck of measurement 1, so
// its CPU seconds per command say where a command's time goes.

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/carrot-market/carrot/tests/system"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// which Linux fixes at 100 on every architecture Go runs on.
const clockTick = 10 * time.Millisecond

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

// cpuTime is utime+stime of pid.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: the fields are
	// counted from the last ')', where field 3 (state) starts.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// listener returns the process that listens on endpoint's TCP port: the
// socket's inode from /proc/net/tcp{,6}, then the process holding it.
func listener(endpoint string) (int, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return 0, err
	}
	port, err := strconv.ParseUint(u.Port(), 10, 16)
	if err != nil {
		return 0, fmt.Errorf("endpoint %q names no port", endpoint)
	}
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); ok && err == nil && p == port {
				inodes["socket:["+fields[9]+"]"] = true
			}
		}
		f.Close()
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("nothing listens on port %d", port)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		fds, _ := os.ReadDir(filepath.Join(p, "fd"))
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(p, "fd", fd.Name())); err == nil && inodes[link] {
				return strconv.Atoi(filepath.Base(p))
			}
		}
	}
	return 0, fmt.Errorf("no readable process holds the socket listening on port %d", port)
}

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
