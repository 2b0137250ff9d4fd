package main

// Readings of processes from Linux's /proc: the CPU time and memory of a
// pid, and the process that listens on a port.

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// which Linux fixes at 100 on every architecture Go runs on.
const clockTick = 10 * time.Millisecond

// procFile returns the text of /proc/<pid>/<name>.
func procFile(pid int, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), name))
	return string(b), err
}

// cpuTime is utime+stime of pid.
func cpuTime(pid int) (time.Duration, error) {
	s, err := procFile(pid, "stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: the fields are
	// counted from the last ')', where field 3 (state) starts.
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

// rss is the resident size of process pid (VmRSS), in bytes.
func rss(pid int) (int64, error) { return procStatus(pid, "VmRSS") }

// procStatus reads a size in kB from /proc/pid/status (VmRSS, RssAnon,
// RssFile, ...) and returns it in bytes.
func procStatus(pid int, field string) (int64, error) {
	status, err := procFile(pid, "status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s for pid %d", field, pid)
}
