package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/logmeter/logmeter/internal/testcert"
)

// The basic auth user and password of tlsBasicAuthWebConfig.
const user, password = "prometheus", "s3cret-Passw0rd"

// tlsBasicAuthWebConfig writes an exporter-toolkit web config to dir: TLS
// with a self-signed certificate for 127.0.0.1 and the basic auth user
// above (bcrypt). It returns the file, the certificate (its own CA) and a
// pool trusting it.
func tlsBasicAuthWebConfig(t *testing.T, dir string) (webConfig, certFile string, pool *x509.CertPool) {
	t.Helper()
	certFile, keyFile, pool := testcert.SelfSigned(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig = filepath.Join(dir, "web.yaml")
	web := fmt.Sprintf("tls_server_config:\n  cert_file: %q\n  key_file: %q\nbasic_auth_users:\n  %s: %q\n", certFile, keyFile, user, hash)
	if err := os.WriteFile(webConfig, []byte(web), 0o644); err != nil {
		t.Fatal(err)
	}
	return webConfig, certFile, pool
}

// TestHTTPSBasicAuth serves /metrics over TLS with basic auth from an
// exporter-toolkit web config.
func TestHTTPSBasicAuth(t *testing.T) {
	dir := t.TempDir()
	webConfig, _, pool := tlsBasicAuthWebConfig(t, dir)
	addr := freeAddr(t)
	logPath := filepath.Join(dir, "access.log")
	cfg := writeConfig(t, dir, daemonConfig{Listen: addr, WebConfig: webConfig, LogPath: logPath,
		Rules: nginxRules(), StateDir: filepath.Join(dir, "state")})
	w, err := newLogWriter(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if err := w.write(100); err != nil {
		t.Fatal(err)
	}
	client := tlsClient(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	d := startDaemonArgs(t, cfg, "https://"+addr, client, [2]string{user, password}, "--pprof")
	want := w.snapshot()
	d.waitLines(want.lines, 10*time.Second)

	ms := d.scrape() // fails the test unless 200
	compareCounts(t, "nginx_http_requests_total over HTTPS", ms.byLabels("nginx_http_requests_total", "method", "status"), want.requests)

	// Profiles (--pprof) are served behind the same TLS and basic auth.
	if code, body, err := d.get("/debug/pprof/cmdline"); err != nil || code != http.StatusOK || !strings.Contains(string(body), "logmeter") {
		t.Errorf("/debug/pprof/cmdline: status %d, %v, body %q", code, err, body)
	}
	noAuth := *d
	noAuth.auth = [2]string{}
	if code, _, err := noAuth.get("/debug/pprof/cmdline"); err != nil || code != http.StatusUnauthorized {
		t.Errorf("/debug/pprof/cmdline without credentials: status %d, %v; want 401", code, err)
	}

	for _, c := range []struct {
		name string
		auth [2]string
		want int
	}{
		{"wrong password", [2]string{user, password + "x"}, http.StatusUnauthorized},
		{"unknown user", [2]string{"admin", password}, http.StatusUnauthorized},
		{"no credentials", [2]string{}, http.StatusUnauthorized},
	} {
		probe := *d
		probe.auth = c.auth
		code, body, err := probe.get("/metrics")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if code != c.want {
			t.Errorf("%s: status %d, want %d", c.name, code, c.want)
		}
		if strings.Contains(string(body), "nginx_http_requests_total") {
			t.Errorf("%s: the response holds metrics", c.name)
		}
	}

	// Plain HTTP on the TLS port gets no metrics.
	plain := &http.Client{Timeout: 5 * time.Second}
	resp, err := plain.Get("http://" + addr + "/metrics")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP on the TLS port: status 200")
		}
	}
	// A client that does not trust the certificate is refused.
	untrusting := tlsClient(&tls.Config{MinVersion: tls.VersionTLS12})
	if resp, err := untrusting.Get("https://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		t.Errorf("a client without the self-signed CA connected (status %d)", resp.StatusCode)
	}
}
