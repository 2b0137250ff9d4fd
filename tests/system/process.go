package system

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Signal sends sig to pid (a negative pid: to its process group); a
// process already gone is no error.
func Signal(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// binDir is the folder of the functions' binaries, with a trailing
// separator.
func (s *System) binDir() string {
	return filepath.Join(s.DataDir, "bin") + string(filepath.Separator)
}

// Runs reports whether pid is a running process (not a zombie) of one of
// the system's function binaries. A pid reused by an unrelated process
// does not count. Without /proc it asks the kernel whether pid exists at
// all.
func (s *System) Runs(pid int) bool {
	if runtime.GOOS != "linux" {
		return syscall.Kill(pid, 0) == nil
	}
	exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
	return err == nil && strings.HasPrefix(exe, s.binDir())
}

// processesUnder lists the running processes whose executable lies under
// binDir (on Linux; elsewhere none can be found).
func processesUnder(binDir string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && strings.HasPrefix(exe, binDir) {
			found = append(found, fmt.Sprintf("%d %s", pid, exe))
		}
	}
	return found
}

// maxOutput bounds the output kept: past it, the oldest half is dropped,
// so that a long bench run does not hold all of its output.
const maxOutput = 16 << 20

// output collects the runtime's output lines. It is safe for concurrent
// use.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.buf.Len() > maxOutput {
		kept := append([]byte(nil), o.buf.Bytes()[o.buf.Len()/2:]...)
		o.buf.Reset()
		o.buf.Write(kept)
	}
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func (o *output) mark(what string) {
	_, _ = fmt.Fprintf(o, "----- %s -----\n", what)
}

// tail returns the last n lines.
func (o *output) tail(n int) string {
	lines := strings.Split(strings.TrimRight(o.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// lines returns the lines that contain every one of parts.
func (o *output) lines(parts []string) []string {
	var found []string
	sc := bufio.NewScanner(strings.NewReader(o.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
lines:
	for sc.Scan() {
		for _, p := range parts {
			if !strings.Contains(sc.Text(), p) {
				continue lines
			}
		}
		found = append(found, sc.Text())
	}
	return found
}
