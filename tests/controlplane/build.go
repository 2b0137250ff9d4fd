package controlplane

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// The versions of the programs that are not in carrot's module. etcd 3.6
// is the one Kubernetes 1.35 is tested with; Debian's 3.4 is too old. The
// API server is the newest 1.35 the module proxy serves; Knative's
// programs are built at the versions carrot's go.mod pins.
const (
	etcdVersion       = "v3.6.16"
	kubernetesVersion = "v1.35.4"
)

// Binaries are the paths of the programs the control plane runs.
type Binaries struct {
	Etcd              string
	KubeAPIServer     string
	ServingController string
	ServingWebhook    string
	EventingWebhook   string
	EventingCtrl      string
}

// builder builds the programs the control plane runs, each once per
// machine: the binaries are kept in cache, under a folder named by the
// program and its version (and, for Knative's, by the patch below), so a
// later run finds them and starts in seconds. Each is built from a small
// generated module in .tools/controlplane of the repository (git-ignored),
// with the Go module proxy, never with -race.
//
// k8s.io/kubernetes cannot be a requirement of carrot's module: its go.mod
// replaces every staging module (k8s.io/api, k8s.io/client-go...) with a
// folder of its own repository, and a replace only counts in the main
// module, so carrot would have to copy the whole block and pin its
// k8s.io/* modules to the API server's release. The generated module does
// that instead, out of carrot's way.
type builder struct {
	root  string // the repository
	cache string // where binaries are kept
	logf  func(format string, args ...any)
}

// Build builds the programs the control plane runs that are not in the
// cache yet, and returns their paths. Options.Root and Options.Cache are
// as for Start. `make test` calls it (through cmd/build) before the tests,
// so that the first build, minutes long, runs outside go test's timeout.
func Build(opts Options) (Binaries, error) {
	bins, _, err := prepare(opts)
	return bins, err
}

// prepare builds what is missing and returns the binaries and the folders
// of Knative's modules.
func prepare(opts Options) (Binaries, map[string]string, error) {
	root, err := repoRoot(opts.Root)
	if err != nil {
		return Binaries{}, nil, err
	}
	cache := opts.Cache
	if cache == "" {
		if cache, err = defaultCache(); err != nil {
			return Binaries{}, nil, err
		}
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	// One build at a time per cache: clones of the repository and test
	// runs on one machine share it.
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return Binaries{}, nil, err
	}
	lock, err := os.OpenFile(filepath.Join(cache, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return Binaries{}, nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return Binaries{}, nil, err
	}
	b := builder{root: root, cache: cache, logf: opts.Logf}
	bins, err := b.binaries()
	if err != nil {
		return bins, nil, err
	}
	dirs, err := b.knativeDirs()
	return bins, dirs, err
}

// defaultCache is where binaries are kept: $CARROT_CONTROLPLANE_CACHE, or
// carrot/controlplane in the user's cache folder (~/.cache).
func defaultCache() (string, error) {
	if dir := os.Getenv("CARROT_CONTROLPLANE_CACHE"); dir != "" {
		return dir, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "carrot", "controlplane"), nil
}

// binaries returns every program, building the missing ones.
func (b builder) binaries() (Binaries, error) {
	var bins Binaries
	var err error
	if bins.Etcd, err = b.etcd(); err != nil {
		return bins, fmt.Errorf("etcd: %w", err)
	}
	if bins.KubeAPIServer, err = b.kubeAPIServer(); err != nil {
		return bins, fmt.Errorf("kube-apiserver: %w", err)
	}
	knative, err := b.knative()
	if err != nil {
		return bins, fmt.Errorf("knative: %w", err)
	}
	bins.ServingController = knative["serving-controller"]
	bins.ServingWebhook = knative["serving-webhook"]
	bins.EventingCtrl = knative["eventing-controller"]
	bins.EventingWebhook = knative["eventing-webhook"]
	return bins, nil
}

// etcd builds etcd's server from a main that calls etcdmain.Main, as
// etcd's own binary does.
func (b builder) etcd() (string, error) {
	key := "etcd-" + etcdVersion
	bin, ok := b.cached(key, "etcd")
	if ok {
		return bin, nil
	}
	dir, err := b.module(key, "carrot.local/controlplane/etcd", "")
	if err != nil {
		return "", err
	}
	main := "package main\n\nimport (\n\t\"os\"\n\n\t\"go.etcd.io/etcd/server/v3/etcdmain\"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644); err != nil {
		return "", err
	}
	if err := b.goCmd(dir, "get", "go.etcd.io/etcd/server/v3@"+etcdVersion); err != nil {
		return "", err
	}
	if err := b.goCmd(dir, "mod", "tidy"); err != nil {
		return "", err
	}
	return bin, b.build(dir, bin, ".")
}

// kubeAPIServer builds k8s.io/kubernetes/cmd/kube-apiserver with each
// staging module replaced by its published release, as the replace block
// of Kubernetes' own go.mod lists them.
func (b builder) kubeAPIServer() (string, error) {
	key := "kube-apiserver-" + kubernetesVersion
	bin, ok := b.cached(key, "kube-apiserver")
	if ok {
		return bin, nil
	}
	dir, err := b.module(key, "carrot.local/controlplane/kube-apiserver", "")
	if err != nil {
		return "", err
	}
	gomod, err := b.output(dir, "mod", "download", "-json", "k8s.io/kubernetes@"+kubernetesVersion)
	if err != nil {
		return "", err
	}
	modFile := regexp.MustCompile(`"GoMod":\s*"([^"]+)"`).FindStringSubmatch(gomod)
	if modFile == nil {
		return "", errors.New("go mod download named no go.mod for k8s.io/kubernetes")
	}
	upstream, err := os.ReadFile(modFile[1])
	if err != nil {
		return "", err
	}
	staging := regexp.MustCompile(`(?m)^\s*(k8s\.io/[\w.-]+) => \./staging/`).FindAllStringSubmatch(string(upstream), -1)
	if len(staging) == 0 {
		return "", errors.New("k8s.io/kubernetes' go.mod replaces no staging module")
	}
	var replace strings.Builder
	replace.WriteString("replace (\n")
	published := "v0" + strings.TrimPrefix(kubernetesVersion, "v1")
	for _, m := range staging {
		fmt.Fprintf(&replace, "\t%s => %s %s\n", m[1], m[1], published)
	}
	replace.WriteString(")\n")
	if _, err := b.module(key, "carrot.local/controlplane/kube-apiserver", replace.String()); err != nil {
		return "", err
	}
	pkg := "k8s.io/kubernetes/cmd/kube-apiserver"
	if err := b.goCmd(dir, "get", pkg+"@"+kubernetesVersion); err != nil {
		return "", err
	}
	// Kubernetes' own build stamps the version, which clients such as
	// Knative's check against their minimum; go build alone would leave
	// v0.0.0-master.
	major, minor, _ := strings.Cut(strings.TrimPrefix(kubernetesVersion, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	stamp := fmt.Sprintf("-X k8s.io/component-base/version.gitVersion=%s -X k8s.io/component-base/version.gitMajor=%s -X k8s.io/component-base/version.gitMinor=%s -X k8s.io/component-base/version.gitTreeState=clean",
		kubernetesVersion, major, minor)
	return bin, b.build(dir, bin, pkg, "-ldflags="+stamp)
}

// knativePrograms are Knative's programs the control plane runs, by the
// name the harness gives them.
var knativePrograms = map[string]string{
	"serving-controller":  "knative.dev/serving/cmd/controller",
	"serving-webhook":     "knative.dev/serving/cmd/webhook",
	"eventing-controller": "knative.dev/eventing/cmd/controller",
	"eventing-webhook":    "knative.dev/eventing/cmd/webhook",
}

// loopbackPatch makes Knative's programs listen on 127.0.0.1 alone. They
// run out of cluster on the host's network, where knative.dev/pkg's
// servers would listen on every interface (":8443") and every controller
// would take the same health port (8080); here the health probes, which
// no kubelet calls, take a free port. The build swaps these lines of
// knative.dev/pkg in a copy (patchPkg); nothing else changes, and
// a line not found fails the build, so a new knative.dev/pkg cannot slip
// past it.
var loopbackPatch = map[string][][2]string{
	"webhook/webhook.go": {
		{`Addr:              fmt.Sprint(":", wh.Options.Port),`, `Addr:              fmt.Sprint("127.0.0.1:", wh.Options.Port),`},
	},
	"observability/runtime/pprof.go": {
		{`Addr:    ":" + port,`, `Addr:    "127.0.0.1:" + port,`},
	},
	"injection/health_check.go": {
		{`Addr: ":" + strconv.Itoa(port)}`, `Addr: "127.0.0.1:" + strconv.Itoa(port*0)}`},
	},
}

// knative builds Knative's webhooks and controllers at the versions
// carrot's go.mod pins, with loopbackPatch.
func (b builder) knative() (map[string]string, error) {
	versions, err := b.knativeVersions()
	if err != nil {
		return nil, err
	}
	patch := sha256.New()
	fmt.Fprint(patch, loopbackPatch)
	key := fmt.Sprintf("knative-serving-%s-eventing-%s-%s", versions[knativeServing], versions[knativeEventing], hex.EncodeToString(patch.Sum(nil))[:8])
	bins := map[string]string{}
	missing := false
	for name := range knativePrograms {
		bin, ok := b.cached(key, name)
		bins[name] = bin
		missing = missing || !ok
	}
	if !missing {
		return bins, nil
	}
	dir, err := b.knativeModule()
	if err != nil {
		return nil, err
	}
	if err := b.patchPkg(dir); err != nil {
		return nil, err
	}
	for name, pkg := range knativePrograms {
		if err := b.build(dir, bins[name], pkg); err != nil {
			return nil, err
		}
	}
	return bins, nil
}

// knativeModule returns the generated module that requires Knative's
// programs at carrot's versions, making it if it is missing: the
// harness also reads Knative's CRDs and ConfigMaps from the module files
// it resolves.
func (b builder) knativeModule() (string, error) {
	versions, err := b.knativeVersions()
	if err != nil {
		return "", err
	}
	key := fmt.Sprintf("knative-serving@%s-eventing@%s", versions[knativeServing], versions[knativeEventing])
	dir := filepath.Join(b.root, ".tools", "controlplane", key)
	if gomod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(gomod), "knative.dev/eventing") {
		return dir, nil
	}
	if _, err := b.module(key, "carrot.local/controlplane/knative", ""); err != nil {
		return "", err
	}
	for _, m := range []string{knativeServing, knativeEventing} {
		if err := b.goCmd(dir, "get", m+"/cmd/controller@"+versions[m], m+"/cmd/webhook@"+versions[m]); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// knativeVersions returns the versions of Knative Serving and Eventing
// carrot's go.mod pins, by module path.
func (b builder) knativeVersions() (map[string]string, error) {
	out, err := b.output(b.root, "list", "-m", "-f", "{{.Path}} {{.Version}}", knativeServing, knativeEventing)
	if err != nil {
		return nil, err
	}
	versions := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		path, version, _ := strings.Cut(line, " ")
		versions[path] = version
	}
	return versions, nil
}

// knativeDirs returns the folders of the Knative modules whose config
// the harness applies, by module path.
func (b builder) knativeDirs() (map[string]string, error) {
	dir, err := b.knativeModule()
	if err != nil {
		return nil, err
	}
	out, err := b.output(dir, "list", "-m", "-f", "{{.Path}} {{.Dir}}", knativeServing, knativeEventing, knativeNetworking, knativeCaching)
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		path, d, _ := strings.Cut(line, " ")
		if d == "" {
			// go list names no folder for a module not yet downloaded.
			if err := b.goCmd(dir, "mod", "download", path); err != nil {
				return nil, err
			}
			o, err := b.output(dir, "list", "-m", "-f", "{{.Dir}}", path)
			if err != nil {
				return nil, err
			}
			d = strings.TrimSpace(o)
		}
		dirs[path] = d
	}
	return dirs, nil
}

// The Knative modules whose files the harness applies.
const (
	knativeServing    = "knative.dev/serving"
	knativeEventing   = "knative.dev/eventing"
	knativeNetworking = "knative.dev/networking"
	knativeCaching    = "knative.dev/caching"
)

// patchPkg puts a copy of knative.dev/pkg, with loopbackPatch, in dir
// and points dir's module at it with a replace. The Go command cannot
// overlay files of the module cache, hence the copy.
func (b builder) patchPkg(dir string) error {
	version, err := b.output(dir, "list", "-m", "-f", "{{.Version}}", "knative.dev/pkg")
	if err != nil {
		return err
	}
	download, err := b.output(dir, "mod", "download", "-json", "knative.dev/pkg@"+strings.TrimSpace(version))
	if err != nil {
		return err
	}
	src := regexp.MustCompile(`"Dir":\s*"([^"]+)"`).FindStringSubmatch(download)
	if src == nil {
		return errors.New("go mod download named no folder for knative.dev/pkg")
	}
	copied := filepath.Join(dir, "knative-pkg")
	if err := os.RemoveAll(copied); err != nil {
		return err
	}
	if err := os.CopyFS(copied, os.DirFS(src[1])); err != nil {
		return err
	}
	for file, swaps := range loopbackPatch {
		path := filepath.Join(copied, file)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(data)
		for _, swap := range swaps {
			if strings.Count(text, swap[0]) != 1 {
				return fmt.Errorf("knative.dev/pkg's %s does not hold %q once; update loopbackPatch", file, swap[0])
			}
			text = strings.Replace(text, swap[0], swap[1], 1)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return b.goCmd(dir, "mod", "edit", "-replace", "knative.dev/pkg=./knative-pkg")
}

// module makes an empty module in .tools/controlplane/key with the given
// go.mod tail (a replace block).
func (b builder) module(key, path, tail string) (string, error) {
	dir := filepath.Join(b.root, ".tools", "controlplane", key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	gomod := fmt.Sprintf("module %s\n\ngo 1.25\n\n%s", path, tail)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// build builds pkg in dir into bin, writing to a temporary name first so
// that an interrupted build leaves no binary behind.
func (b builder) build(dir, bin, pkg string, flags ...string) error {
	b.logf("controlplane: building %s into %s (once per machine; minutes)", pkg, bin)
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	args := append([]string{"build", "-o", bin + ".partial"}, flags...)
	if err := b.goCmd(dir, append(args, pkg)...); err != nil {
		return err
	}
	return os.Rename(bin+".partial", bin)
}

func (b builder) goCmd(dir string, args ...string) error {
	_, err := b.output(dir, args...)
	return err
}

// output runs the go command in dir with go.mod updates allowed, out of
// any workspace; never with -race, which the programs do not need.
func (b builder) output(dir string, args ...string) (string, error) {
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return stdout.String(), nil
}

// cached returns the path of a program in the cache, and whether it is
// there.
func (b builder) cached(key, name string) (string, bool) {
	bin := filepath.Join(b.cache, key, name)
	return bin, exists(bin)
}

// goTool is the go command: $GO, or go on PATH.
func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
