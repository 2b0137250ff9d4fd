package tests

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/tests/system"
)

// TestLocalRuntimeKeepsToLoopbackAndLogsCleanly starts the system as
// `make run` does, with every function running, and checks the two rules
// of the local runtime: nothing of the system listens beyond 127.0.0.1
// (DynamoDB Local, Kafka, the broker, the gateway and every function
// instance), and every log line it prints is a JSON object with one key
// per field.
func TestLocalRuntimeKeepsToLoopbackAndLogsCleanly(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("listeners are read from /proc/net, which this system does not have")
	}
	sys := MustStart(t, system.Options{})
	startEveryFunction(t, sys)
	res := sys.MustDo(t, "", http.MethodGet, "/items", nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res)

	t.Run("every listener binds 127.0.0.1", func(t *testing.T) {
		mustListenOnLoopbackOnly(t, sys)
	})
	t.Run("every log line has one key per field", func(t *testing.T) {
		mustLogOneKeyPerField(t, sys.Output())
	})
	sys.MustStop(t)
}

// startEveryFunction makes every function of the runtime start an
// instance, by asking each one's readiness through its activator on the
// cluster listener, and waits for the answers.
func startEveryFunction(t *testing.T, sys *System) {
	t.Helper()
	functions := sys.MustStatus(t).Functions
	require.NotEmpty(t, functions)
	client := &http.Client{Timeout: settle}
	for _, f := range functions {
		res, err := client.Get(sys.Cluster + "/functions/" + f.Name + "/health/readiness")
		require.NoError(t, err, "%s", f.Name)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, "readiness of %s", f.Name)
	}
	for _, f := range sys.MustStatus(t).Functions {
		require.NotEmpty(t, f.Instances, "%s runs no instance", f.Name)
	}
}

// mustListenOnLoopbackOnly checks every listening TCP socket of the
// system's processes: this test process, the runtime and its children
// (the function instances), and DynamoDB Local (the process listening on
// $DYNAMODB_ENDPOINT's port). It first requires that the sockets of the
// gateway, the cluster listener, Kafka, DynamoDB Local and of each
// instance are among them, so that the check cannot pass by finding none.
func mustListenOnLoopbackOnly(t *testing.T, sys *System) {
	listeners, err := tcpListeners()
	require.NoError(t, err)
	dynamoPort := portOf(t, sys.Endpoint)
	owners := socketOwners()
	pids := append([]int{os.Getpid()}, descendants(sys.PID())...)
	for _, l := range listeners {
		if l.port == dynamoPort {
			pids = append(pids, owners[l.inode])
		}
	}

	owned := map[int][]tcpListener{} // pid → its listening sockets
	for _, l := range listeners {
		if pid, ok := owners[l.inode]; ok && slices.Contains(pids, pid) {
			owned[pid] = append(owned[pid], l)
		}
	}
	ports := map[int]bool{}
	for _, ls := range owned {
		for _, l := range ls {
			ports[l.port] = true
		}
	}
	for what, addr := range map[string]string{"gateway": sys.Gateway, "cluster listener": sys.Cluster, "Kafka": sys.Kafka, "DynamoDB Local": sys.Endpoint} {
		require.True(t, ports[portOf(t, addr)], "no listening socket of the system's processes is the %s's (%s)", what, addr)
	}
	for _, f := range sys.MustStatus(t).Functions {
		for _, inst := range f.Instances {
			require.NotEmpty(t, owned[inst.PID], "instance %d of %s (pid %d) listens nowhere", inst.ID, f.Name, inst.PID)
		}
	}

	loopback := net.IPv4(127, 0, 0, 1)
	checked := 0
	for pid, ls := range owned {
		checked += len(ls)
		for _, l := range ls {
			assert.True(t, l.ip.Equal(loopback), "%s (pid %d) listens on %s", commandOf(pid), pid, net.JoinHostPort(l.ip.String(), strconv.Itoa(l.port)))
		}
	}
	t.Logf("checked %d listening sockets of %d processes", checked, len(owned))
}

// portOf returns the port of addr, a host:port or a URL.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err, addr)
	n, err := strconv.Atoi(port)
	require.NoError(t, err, addr)
	return n
}

// tcpListener is a TCP socket in the LISTEN state, as /proc/net lists it.
type tcpListener struct {
	ip    net.IP
	port  int
	inode string
}

// tcpListeners returns every listening TCP socket of this network
// namespace, IPv4 and IPv6.
func tcpListeners() ([]tcpListener, error) {
	var all []tcpListener
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Scan() // the header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			f := strings.Fields(sc.Text())
			if len(f) < 10 || f[3] != "0A" { // 0A is TCP_LISTEN
				continue
			}
			l, err := parseListener(f[1], f[9])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			all = append(all, l)
		}
	}
	return all, nil
}

// parseListener reads a local address of /proc/net/tcp{,6}: the address in
// hex, each 32-bit word in the host's byte order (little-endian on the
// machines this runs on), a colon and the port in hex.
func parseListener(local, inode string) (tcpListener, error) {
	addr, port, ok := strings.Cut(local, ":")
	raw, err := hex.DecodeString(addr)
	if !ok || err != nil || (len(raw) != 4 && len(raw) != 16) {
		return tcpListener{}, fmt.Errorf("local address %q", local)
	}
	for i := 0; i < len(raw); i += 4 {
		slices.Reverse(raw[i : i+4])
	}
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return tcpListener{}, fmt.Errorf("local address %q: %w", local, err)
	}
	return tcpListener{ip: net.IP(raw), port: int(p), inode: inode}, nil
}

// socketOwners maps the inode of every socket a process of this user has
// open to that process's pid.
func socketOwners() map[string]int {
	owners := map[string]int{}
	for _, pid := range processes() {
		dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // another user's process, or gone
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
				owners[strings.TrimSuffix(inode, "]")] = pid
			}
		}
	}
	return owners
}

// descendants returns root and every process below it.
func descendants(root int) []int {
	children := map[int][]int{}
	for _, pid := range processes() {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		end := bytes.LastIndexByte(stat, ')')
		if f := strings.Fields(string(stat[end+1:])); end > 0 && len(f) > 1 {
			if ppid, err := strconv.Atoi(f[1]); err == nil {
				children[ppid] = append(children[ppid], pid)
			}
		}
	}
	all := []int{root}
	for i := 0; i < len(all); i++ {
		all = append(all, children[all[i]]...)
	}
	return all
}

// processes lists the pids of /proc.
func processes() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

func commandOf(pid int) string {
	comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return "a process"
	}
	return strings.TrimSpace(string(comm))
}

// instancePrefix is what the runtime puts before each line an instance
// prints (serving.Options.LinePrefix's default).
var instancePrefix = regexp.MustCompile(`^[a-z0-9-]+-[0-9]+ \| `)

// mustLogOneKeyPerField checks every line of the runtime's output, its
// instances' lines included, in the default format: a JSON object, no key
// of which appears twice at the same level.
func mustLogOneKeyPerField(t *testing.T, output string) {
	lines := strings.Split(strings.TrimRight(output, "\n"), "\n")
	require.NotEmpty(t, lines)
	for _, line := range lines {
		if strings.HasPrefix(line, "----- ") {
			continue // the harness's marks
		}
		line = instancePrefix.ReplaceAllString(line, "")
		dup, err := duplicateKeys([]byte(line))
		if assert.NoError(t, err, "a log line that is not a JSON object: %s", line) {
			assert.Empty(t, dup, "keys logged twice in: %s", line)
		}
	}
}

// duplicateKeys returns the keys that appear more than once in one object
// of the JSON object line, at any depth. encoding/json keeps the last of
// them silently, so the tokens are read one by one.
func duplicateKeys(line []byte) ([]string, error) {
	if !bytes.HasPrefix(line, []byte("{")) {
		return nil, errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dup, err := valueDuplicates(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return dup, nil
}

// valueDuplicates reads one JSON value and returns the keys repeated
// within one of the objects in it.
func valueDuplicates(dec *json.Decoder) ([]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil, nil // a string, number, bool or null
	}
	seen := map[string]bool{}
	var dup []string
	for dec.More() {
		if delim == '{' {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key := tok.(string)
			if seen[key] {
				dup = append(dup, key)
			}
			seen[key] = true
		}
		inner, err := valueDuplicates(dec)
		if err != nil {
			return nil, err
		}
		dup = append(dup, inner...)
	}
	_, err = dec.Token() // the closing '}' or ']'
	return dup, err
}

func TestDuplicateKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line    string
		want    []string
		invalid bool
	}{
		{line: `{"msg":"a","function":"pay"}`},
		{line: `{"msg":"a","function":"carrot","function":"pay"}`, want: []string{"function"}},
		{line: `{"a":{"b":1,"b":2},"c":[{"d":1,"d":2}]}`, want: []string{"b", "d"}},
		{line: `{"a":{"b":1},"b":2}`},
		{line: `2026-01-01T00:00:00Z	INFO	serving	{"addr":"127.0.0.1:1"}`, invalid: true},
		{line: `["a","a"]`, invalid: true},
		{line: `{"a":1}{"a":2}`, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := duplicateKeys([]byte(tt.line))
			if tt.invalid {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
