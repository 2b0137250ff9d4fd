// Package controlplane runs a real Kubernetes control plane with Knative
// on the loopback interface, for tests that apply knative/ to it: etcd,
// the API server with Knative Serving's and Eventing's CRDs and
// ConfigMaps, and Knative's webhooks and controllers, out of cluster.
// There are no nodes, no kubelet and no network layer, so no pod runs and
// nothing that waits for a pod or an ingress becomes Ready; everything the
// API server, the webhooks and the controllers decide is real.
//
// Every program listens on 127.0.0.1 alone, in its own process group;
// Stop ends them all and removes the temporary folder. The programs are
// built once per machine and kept in a cache (build.go).
package controlplane

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"
)

// ControlPlane is a running control plane. Its methods may be called
// concurrently.
type ControlPlane struct {
	// Config reaches the API server as a cluster administrator.
	Config *rest.Config
	// Kubeconfig is a kubeconfig file for the same, e.g. for kubectl.
	Kubeconfig string

	dir    string
	mapper *restmapper.DeferredDiscoveryRESTMapper
	logf   func(format string, args ...any)
	mu     sync.Mutex
	procs  []*process
	// knative are the folders of Knative's modules, by module path.
	knative map[string]string
}

// Options tune Start.
type Options struct {
	// Root is the repository (where go.mod is); empty means found upwards
	// from the working folder.
	Root string
	// Cache keeps the binaries; empty means defaultCache.
	Cache string
	// Logf reports progress; nil means silence.
	Logf func(format string, args ...any)
}

// MustStart starts a control plane for tb and stops it when tb ends; on
// failure it logs the end of each program's log first.
func MustStart(tb testing.TB) *ControlPlane {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cp, err := Start(ctx, Options{Logf: tb.Logf})
	if cp != nil {
		tb.Cleanup(func() {
			if tb.Failed() {
				cp.logTails(tb)
			}
			cp.Stop()
		})
	}
	if err != nil {
		tb.Fatalf("control plane: %v", err)
	}
	return cp
}

// Start builds what is missing, then starts etcd, the API server and
// Knative. On error it returns the control plane started so far, to be
// stopped, or nil.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	began := time.Now()
	bins, knativeDirs, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	opts.Logf("controlplane: binaries ready in %s", time.Since(began).Round(time.Second))
	dir, err := os.MkdirTemp("", "carrot-controlplane-")
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{dir: dir, logf: opts.Logf, knative: knativeDirs}
	if err := cp.startAPIServer(bins); err != nil {
		return cp, err
	}
	opts.Logf("controlplane: API server up in %s", time.Since(began).Round(time.Second))
	if err := cp.installKnative(ctx, bins); err != nil {
		return cp, err
	}
	if err := cp.checkLoopback(); err != nil {
		return cp, err
	}
	opts.Logf("controlplane: Knative up in %s", time.Since(began).Round(time.Second))
	return cp, nil
}

// Stop ends every program and removes the temporary folder. Knative's
// and the API server's drains wait for callers a cluster would have, so
// each program gets a few seconds after SIGTERM, all at once, then
// SIGKILL.
func (cp *ControlPlane) Stop() {
	cp.mu.Lock()
	procs := cp.procs
	cp.procs = nil
	cp.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() { p.stop(5 * time.Second) })
	}
	wg.Wait()
	_ = os.RemoveAll(cp.dir)
}

func (cp *ControlPlane) start(name, bin string, args, env []string) (*process, error) {
	p, err := startProcess(cp.dir, name, bin, args, env)
	if err != nil {
		return nil, err
	}
	cp.mu.Lock()
	cp.procs = append(cp.procs, p)
	cp.mu.Unlock()
	return p, nil
}

// logTails logs the end of every program's log.
func (cp *ControlPlane) logTails(tb testing.TB) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, p := range cp.procs {
		tb.Logf("controlplane: the end of %s's log:\n%s", p.name, tail(p.log, 30))
	}
}

// checkLoopback fails if a program listens on any address but 127.0.0.1.
func (cp *ControlPlane) checkLoopback() error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, p := range cp.procs {
		addrs, err := listeners(p.cmd.Process.Pid)
		if err != nil {
			return fmt.Errorf("%s's sockets: %w", p.name, err)
		}
		for _, addr := range addrs {
			if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
				return fmt.Errorf("%s listens on %s, not on 127.0.0.1 alone", p.name, addr)
			}
		}
	}
	return nil
}

// startAPIServer starts etcd and the API server with a serving
// certificate of a fresh self-signed CA, one administrator token and a
// service-account key pair, and writes the kubeconfig.
func (cp *ControlPlane) startAPIServer(bins Binaries) error {
	ports := make([]int, 3)
	for i := range ports {
		port, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = port
	}
	client, peer, secure := ports[0], ports[1], ports[2]
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	etcd, err := cp.start("etcd", bins.Etcd, []string{
		"--name=carrot", "--data-dir=" + filepath.Join(cp.dir, "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=carrot=" + peerURL,
		// The data is thrown away at the end; durability buys nothing.
		"--unsafe-no-fsync", "--log-level=warn",
	}, nil)
	if err != nil {
		return err
	}

	pki := filepath.Join(cp.dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return err
	}
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"})
	if err != nil {
		return err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	tokenBytes := make([]byte, 16)
	if _, err := rand.Read(tokenBytes); err != nil {
		return err
	}
	token := hex.EncodeToString(tokenBytes)
	files := map[string][]byte{
		"serving.crt": certPEM,
		"serving.key": keyPEM,
		"sa.key":      pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		"sa.pub":      pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
		"tokens.csv":  []byte(token + ",admin,admin,system:masters\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(pki, name), data, 0o600); err != nil {
			return err
		}
	}

	api, err := cp.start("kube-apiserver", bins.KubeAPIServer, []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(secure),
		"--tls-cert-file=" + filepath.Join(pki, "serving.crt"), "--tls-private-key-file=" + filepath.Join(pki, "serving.key"),
		"--token-auth-file=" + filepath.Join(pki, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--profiling=false",
	}, nil)
	if err != nil {
		return err
	}

	host := fmt.Sprintf("https://127.0.0.1:%d", secure)
	cp.Config = &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: certPEM},
		QPS:             100,
		Burst:           200,
	}
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters["carrot"] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: certPEM}
	kubeconfig.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	kubeconfig.Contexts["carrot"] = &clientcmdapi.Context{Cluster: "carrot", AuthInfo: "admin"}
	kubeconfig.CurrentContext = "carrot"
	cp.Kubeconfig = filepath.Join(cp.dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kubeconfig, cp.Kubeconfig); err != nil {
		return err
	}

	if cp.mapper, err = newMapper(cp.Config); err != nil {
		return err
	}
	client2, err := rest.HTTPClientFor(cp.Config)
	if err != nil {
		return err
	}
	return waitFor("the API server", 2*time.Minute, []*process{etcd, api}, func() error {
		resp, err := client2.Get(host + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return errors.New(resp.Status)
		}
		return nil
	})
}

// repoRoot returns root, or the first folder upwards from the working
// folder that holds go.mod.
func repoRoot(root string) (string, error) {
	if root != "" {
		return filepath.Abs(root)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if exists(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working folder")
		}
		dir = parent
	}
}

// envList turns a map into KEY=value entries.
func envList(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
