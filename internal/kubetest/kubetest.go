// Package kubetest starts a real Kubernetes API server (kube-apiserver plus
// etcd, no kubelet, scheduler or controller-manager) on 127.0.0.1 for tests
// that talk to Kubernetes, and hands out admin and restricted clients.
//
// The binaries are built from Go modules by scripts/build-kubeserver.sh
// into a cache outside the repository; a cold build takes several minutes,
// later runs reuse it. Set KUBESERVER_DIR to a directory holding
// kube-apiserver and etcd executables to use those instead.
package kubetest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// startTimeout bounds the wait for etcd and then for /readyz.
	startTimeout = 60 * time.Second
	stopTimeout  = 15 * time.Second
	// startAttempts covers the rare case where a free port found by
	// listening on port 0 is taken by someone else before the server binds it.
	startAttempts = 3
	// logTail is how much of each server's log a failing test prints.
	logTail = 16 << 10
)

// Cluster is one running kube-apiserver with its own etcd, certificates and
// data in a temporary directory. Its methods are safe for concurrent use.
type Cluster struct {
	dir        string
	url        string
	caPEM      []byte
	adminToken string

	etcd      *process
	apiserver *process

	clientOnce sync.Once
	client     kubernetes.Interface
	clientErr  error
}

// Start builds the servers if needed, starts etcd and kube-apiserver on
// free 127.0.0.1 ports, waits until the API server is ready, and stops both
// when the test ends (printing their logs if the test failed). It fails the
// test if they cannot be built or started. In short mode (go test -short)
// it skips the test.
//
// The API server authorizes with RBAC. The admin client (AdminConfig,
// Client) authenticates with a static token as a member of system:masters.
// The ServiceAccount admission plugin is off, so pods need no
// ServiceAccount; no kubelet runs, so delete pods bound to a node with
// grace period 0.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("kubetest: skipping in short mode: needs a real kube-apiserver and etcd (built by scripts/build-kubeserver.sh)")
	}
	binDir, err := binaries(t)
	if err != nil {
		t.Fatalf("kubetest: cannot build kube-apiserver and etcd (scripts/build-kubeserver.sh): %v", err)
	}
	// The temporary directory is removed after the cleanup below has
	// stopped the servers (cleanups run last-registered first).
	dir := t.TempDir()
	c := &Cluster{dir: dir, adminToken: randomHex(16)}
	if err := c.writeCredentials(); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			t.Logf("kubetest: server logs:\n%s", c.logs())
		}
	})
	for attempt := 1; ; attempt++ {
		err := c.start(binDir)
		if err == nil {
			break
		}
		portTaken := c.portTaken()
		c.stop()
		if portTaken && attempt < startAttempts {
			t.Logf("kubetest: a port was taken during start-up, retrying: %v", err)
			continue
		}
		t.Fatalf("kubetest: %v (server logs follow)", err)
	}
	return c
}

// URL is the API server's base URL, such as https://127.0.0.1:41234.
func (c *Cluster) URL() string { return c.url }

// AdminConfig returns a new client configuration with full access.
func (c *Cluster) AdminConfig() *rest.Config {
	return &rest.Config{
		Host:            c.url,
		BearerToken:     c.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), c.caPEM...)},
		QPS:             100,
		Burst:           200,
	}
}

// Client returns a clientset with full access (shared by all callers).
func (c *Cluster) Client() kubernetes.Interface {
	c.clientOnce.Do(func() {
		c.client, c.clientErr = kubernetes.NewForConfig(c.AdminConfig())
	})
	if c.clientErr != nil {
		// NewForConfig fails only on an invalid configuration, and ours is
		// fixed; this is a bug in this package.
		panic(fmt.Sprintf("kubetest: admin client: %v", c.clientErr))
	}
	return c.client
}

// KubeconfigFile writes a kubeconfig file in a temporary directory of t
// that authenticates with token and nothing else (no client certificate,
// which would take precedence), and returns its path. Use it with a
// ServiceAccount's token to test what RBAC allows that ServiceAccount.
func (c *Cluster) KubeconfigFile(t testing.TB, token string) string {
	t.Helper()
	const name = "kubetest"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{
		Server:                   c.url,
		CertificateAuthorityData: c.caPEM,
	}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatalf("kubetest: writing kubeconfig: %v", err)
	}
	return path
}

// Kubectl runs the kubectl built with the servers as the admin, with args,
// and returns its combined output; a non-zero exit is an error that holds
// the output.
func (c *Cluster) Kubectl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	binDir, err := binaries(t)
	if err != nil {
		return "", err
	}
	kubeconfig := c.KubeconfigFile(t, c.adminToken)
	// kubectl's cache of discovery documents goes with the test.
	cmd := exec.Command(filepath.Join(binDir, "kubectl"), append([]string{"--kubeconfig", kubeconfig, "--cache-dir", t.TempDir()}, args...)...)
	cmd.Env = withoutEnvPrefix(os.Environ(), "KUBECONFIG=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// ServiceAccountToken returns a token for the ServiceAccount ns/name,
// valid for an hour, from the TokenRequest API. The ServiceAccount must
// exist.
func (c *Cluster) ServiceAccountToken(ns, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	expiry := int64(3600)
	tr, err := c.Client().CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for service account %s/%s: %w", ns, name, err)
	}
	return tr.Status.Token, nil
}

// start starts etcd and then kube-apiserver on fresh ports and waits until
// the API server is ready.
func (c *Cluster) start(binDir string) error {
	c.etcd, c.apiserver = nil, nil // from a failed attempt; their logs stay in the files
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	c.url = "https://127.0.0.1:" + strconv.Itoa(ports[2])
	deadline := time.Now().Add(startTimeout)
	etcdData := filepath.Join(c.dir, "etcd-data")
	if err := os.RemoveAll(etcdData); err != nil { // from a failed attempt
		return err
	}

	// etcd takes ETCD_* environment variables as settings; none of the
	// caller's reach it.
	c.etcd, err = startProcess("etcd", filepath.Join(binDir, "etcd"), c.dir, withoutEnvPrefix(os.Environ(), "ETCD_"),
		"--name=kubetest",
		"--data-dir="+etcdData,
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL,
		"--initial-cluster-state=new",
		// Test data need not survive a crash; fsync dominates on slow disks.
		"--unsafe-no-fsync",
	)
	if err != nil {
		return err
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := waitFor(c.etcd, deadline, func() error {
		return getOK(plain, clientURL+"/health", "", `"health":"true"`)
	}); err != nil {
		return fmt.Errorf("etcd did not become healthy: %w", err)
	}

	c.apiserver, err = startProcess("kube-apiserver", filepath.Join(binDir, "kube-apiserver"), c.dir, withoutEnvPrefix(os.Environ(), "ETCD_"),
		"--etcd-servers="+clientURL,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[2]),
		// Without an endpoint reconciler the API server does not try to
		// publish its loopback address as the kubernetes service's endpoint.
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--cert-dir="+filepath.Join(c.dir, "certs"),
		"--tls-cert-file="+c.path("serving.crt"),
		"--tls-private-key-file="+c.path("serving.key"),
		"--client-ca-file="+c.path("ca.crt"),
		"--token-auth-file="+c.path("tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+c.path("sa.pub"),
		"--service-account-signing-key-file="+c.path("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		// No controller-manager creates the default ServiceAccounts.
		"--disable-admission-plugins=ServiceAccount",
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.caPEM)
	secure := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	defer secure.CloseIdleConnections()
	if err := waitFor(c.apiserver, deadline, func() error {
		return getOK(secure, c.url+"/readyz", c.adminToken, "ok")
	}); err != nil {
		return fmt.Errorf("kube-apiserver did not become ready: %w", err)
	}
	return nil
}

func (c *Cluster) path(name string) string { return filepath.Join(c.dir, name) }

func (c *Cluster) stop() {
	// The API server first, so it does not log etcd's absence.
	c.apiserver.stop()
	c.etcd.stop()
}

// portTaken reports whether a server failed because its port was in use.
func (c *Cluster) portTaken() bool {
	for _, p := range []*process{c.etcd, c.apiserver} {
		if p != nil && p.exited() && bytes.Contains(p.tail(), []byte("address already in use")) {
			return true
		}
	}
	return false
}

// logs returns the end of both servers' logs.
func (c *Cluster) logs() string {
	var b strings.Builder
	for _, p := range []*process{c.etcd, c.apiserver} {
		if p == nil {
			continue
		}
		fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", p.name, p.state(), p.tail())
	}
	return b.String()
}

// writeCredentials writes a CA, a serving certificate signed by it, the
// ServiceAccount signing key and the static token file.
func (c *Cluster) writeCredentials() error {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kubetest-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("creating CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	c.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	servingTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default",
			"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.IPv4(10, 0, 0, 1)},
	}
	servingDER, err := x509.CreateCertificate(rand.Reader, servingTmpl, ca, &servingKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("creating serving certificate: %w", err)
	}
	servingKeyPEM, err := keyPEM(servingKey)
	if err != nil {
		return err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	saKeyPEM, err := keyPEM(saKey)
	if err != nil {
		return err
	}
	saPubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	// token,user,uid,"groups"
	tokens := fmt.Sprintf("%s,kubetest-admin,kubetest-admin,\"system:masters\"\n", c.adminToken)

	files := []struct {
		name string
		data []byte
	}{
		{"ca.crt", c.caPEM},
		{"serving.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: servingDER})},
		{"serving.key", servingKeyPEM},
		{"sa.key", saKeyPEM},
		{"sa.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPubDER})},
		{"tokens.csv", []byte(tokens)},
	}
	for _, f := range files {
		if err := os.WriteFile(c.path(f.name), f.data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func keyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// waitFor polls check until it succeeds, p exits or the deadline passes.
func waitFor(p *process, deadline time.Time, check func() error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", startTimeout, err)
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited during start-up: %s", p.name, p.state())
		case <-tick.C:
		}
	}
}

// getOK fetches url and checks for status 200 and a body containing want.
func getOK(client *http.Client, url, token, want string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(want)) {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// freePorts returns n distinct ports that were free on 127.0.0.1 a moment
// ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		// Held open until all are chosen, so the n ports differ.
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func withoutEnvPrefix(env []string, prefix string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// process is one server process writing its output to a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
}

func startProcess(name, bin, dir string, env []string, args ...string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) state() string {
	if !p.exited() {
		return "running"
	}
	return p.cmd.ProcessState.String()
}

// stop asks the process to exit and kills it if it does not in time.
// It is a no-op on a nil or exited process.
func (p *process) stop() {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the last logTail bytes of the process's log.
func (p *process) tail() []byte {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return []byte(err.Error())
	}
	if len(data) > logTail {
		data = append([]byte("[...]\n"), data[len(data)-logTail:]...)
	}
	return data
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binaries returns the directory holding kube-apiserver and etcd:
// $KUBESERVER_DIR if set, else the one scripts/build-kubeserver.sh builds
// (once per test process).
func binaries(t testing.TB) (string, error) {
	buildOnce.Do(func() {
		buildDir, buildErr = findOrBuild(t)
	})
	return buildDir, buildErr
}

func findOrBuild(t testing.TB) (string, error) {
	dir := os.Getenv("KUBESERVER_DIR")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		script := filepath.Join(root, "scripts", "build-kubeserver.sh")
		if dir, err = runBuild(t, script); err != nil {
			return "", err
		}
	}
	for _, name := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// runBuild runs the build script and returns the directory it prints. A
// cold build takes minutes; if the test binary's deadline (go test
// -timeout) would pass first, it stops the build and fails with advice
// instead of letting the whole test binary panic. Packages compiled so far
// stay in the Go build cache, so the next run continues from there.
func runBuild(t testing.TB, script string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = buildProcAttr()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("running %s: %w", script, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var timeout <-chan time.Time
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			// Leave time to start the servers and run the test.
			remaining := time.Until(deadline)
			timer := time.NewTimer(remaining - min(2*time.Minute, remaining/4))
			defer timer.Stop()
			timeout = timer.C
		}
	}
	select {
	case err := <-done:
		if err != nil {
			return "", fmt.Errorf("%s failed: %v\n%s", script, err, stderr.String())
		}
	case <-timeout:
		killGroup(cmd.Process)
		<-done
		return "", fmt.Errorf("%s was still building close to the test deadline and was stopped; "+
			"run it before go test (a cold build takes several minutes), or give go test a longer -timeout\n%s", script, stderr.String())
	}
	dir := strings.TrimSpace(stdout.String())
	if i := strings.LastIndexByte(dir, '\n'); i >= 0 {
		dir = dir[i+1:]
	}
	if dir == "" {
		return "", fmt.Errorf("%s printed no directory\n%s", script, stderr.String())
	}
	return dir, nil
}

// repoRoot finds the repository root, the first directory above the
// working directory that holds scripts/build-kubeserver.sh.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "build-kubeserver.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/build-kubeserver.sh not found in or above the working directory")
		}
		dir = parent
	}
}
