package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/crypto/bcrypt"

	"github.com/logmeter/logmeter/internal/testcert"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

// testRegistry holds one counter and one native histogram, so that scrapes
// can be checked for content and for protobuf negotiation.
func testRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_lines_total", Help: "Lines."})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                        "test_duration_seconds",
		Help:                        "Durations.",
		NativeHistogramBucketFactor: 1.1,
	})
	reg.MustRegister(c, h)
	c.Add(3)
	h.Observe(0.25)
	return reg
}

// started is one server under test.
type started struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
}

// start runs Serve on a fresh 127.0.0.1 port. Connections queue on the
// listener from the moment it exists, so no wait is needed before use; the
// cleanup cancels and waits for Serve to return.
func start(t *testing.T, o Options) *started {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	s := &started{addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- Serve(ctx, ln, o) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(testTimeout):
			t.Errorf("Serve did not return within %s of cancel", testTimeout)
		}
	})
	return s
}

// stop cancels the server and returns Serve's result.
func (s *started) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // let the cleanup see it too
		return err
	case <-time.After(testTimeout):
		t.Fatalf("Serve did not return within %s of cancel", testTimeout)
		return nil
	}
}

type response struct {
	code        int
	contentType string
	body        string
}

func get(t *testing.T, c *http.Client, url string, header http.Header) (response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{code: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(b)}, nil
}

func plainClient() *http.Client {
	return &http.Client{Timeout: testTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

func TestPlainHTTPRoutes(t *testing.T) {
	s := start(t, Options{
		Gatherer: testRegistry(t),
		Extra: map[string]http.Handler{
			"GET /extra": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "extra") }),
		},
	})
	base := "http://" + s.addr
	tests := []struct {
		name     string
		path     string
		accept   string
		code     int
		ctype    string // prefix of Content-Type
		contains []string
	}{
		{name: "metrics text", path: "/metrics", code: 200, ctype: "text/plain",
			contains: []string{"test_lines_total 3", "# TYPE test_duration_seconds histogram"}},
		{name: "metrics openmetrics", path: "/metrics", accept: "application/openmetrics-text;version=1.0.0",
			code: 200, ctype: "application/openmetrics-text", contains: []string{"test_lines_total 3", "# EOF"}},
		{name: "metrics protobuf for native histograms", path: "/metrics",
			accept: "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
			code:   200, ctype: "application/vnd.google.protobuf", contains: []string{"test_duration_seconds"}},
		{name: "healthz", path: "/healthz", code: 200, ctype: "text/plain", contains: []string{"ok"}},
		{name: "readyz without Ready", path: "/readyz", code: 200, ctype: "text/plain", contains: []string{"ok"}},
		{name: "landing page", path: "/", code: 200, ctype: "text/html",
			contains: []string{`href="/metrics"`, `href="/healthz"`, `href="/readyz"`}},
		{name: "extra route", path: "/extra", code: 200, contains: []string{"extra"}},
		{name: "unknown path", path: "/nope", code: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.accept != "" {
				h.Set("Accept", tc.accept)
			}
			r, err := get(t, plainClient(), base+tc.path, h)
			if err != nil {
				t.Fatalf("GET %s: %v", tc.path, err)
			}
			if r.code != tc.code {
				t.Fatalf("GET %s: status %d, want %d; body %q", tc.path, r.code, tc.code, r.body)
			}
			if !strings.HasPrefix(r.contentType, tc.ctype) {
				t.Errorf("GET %s: Content-Type %q, want prefix %q", tc.path, r.contentType, tc.ctype)
			}
			for _, want := range tc.contains {
				if !strings.Contains(r.body, want) {
					t.Errorf("GET %s: body lacks %q:\n%s", tc.path, want, r.body)
				}
			}
		})
	}
	if err := s.stop(t); err != nil {
		t.Errorf("Serve after cancel: %v, want nil", err)
	}
}

// A gatherer that fails part-way still yields what it gathered.
func TestMetricsContinueOnError(t *testing.T) {
	reg := testRegistry(t)
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := reg.Gather()
		if err != nil {
			return nil, err
		}
		return mfs, errors.New("one collector failed")
	})
	s := start(t, Options{Gatherer: g})
	r, err := get(t, plainClient(), "http://"+s.addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.code != 200 || !strings.Contains(r.body, "test_lines_total 3") {
		t.Errorf("status %d body %q, want 200 with test_lines_total", r.code, r.body)
	}
}

func TestReadyzFollowsReady(t *testing.T) {
	var ready atomic.Bool
	s := start(t, Options{Gatherer: testRegistry(t), Ready: func() error {
		if !ready.Load() {
			return errors.New("rules not loaded yet")
		}
		return nil
	}})
	url := "http://" + s.addr + "/readyz"
	for _, tc := range []struct {
		ready bool
		code  int
		body  string
	}{
		{false, http.StatusServiceUnavailable, "rules not loaded yet\n"},
		{true, http.StatusOK, "ok\n"},
		{false, http.StatusServiceUnavailable, "rules not loaded yet\n"},
	} {
		ready.Store(tc.ready)
		r, err := get(t, plainClient(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.code != tc.code || r.body != tc.body {
			t.Errorf("ready=%v: got %d %q, want %d %q", tc.ready, r.code, r.body, tc.code, tc.body)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	_, _, pool := testcert.SelfSigned(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// Relative cert paths resolve against the web config's directory.
	webConfig := filepath.Join(dir, "web.yml")
	writeFile(t, webConfig, fmt.Sprintf(
		"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  prom: '%s'\n", hash))

	var ready atomic.Bool
	s := start(t, Options{Gatherer: testRegistry(t), WebConfig: webConfig, Ready: func() error {
		if !ready.Load() {
			return errors.New("starting")
		}
		return nil
	}})
	trusting := &http.Client{Timeout: testTimeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true,
	}}
	untrusting := &http.Client{Timeout: testTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	auth := func(user, pass string) http.Header {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.SetBasicAuth(user, pass)
		return r.Header
	}

	tests := []struct {
		name    string
		client  *http.Client
		scheme  string
		path    string
		header  http.Header
		ready   bool
		code    int
		wantErr string // substring of the client error; "" means no error
	}{
		{name: "right password", client: trusting, scheme: "https", path: "/metrics", header: auth("prom", "s3cret"), code: 200},
		{name: "wrong password", client: trusting, scheme: "https", path: "/metrics", header: auth("prom", "nope"), code: 401},
		{name: "unknown user", client: trusting, scheme: "https", path: "/metrics", header: auth("other", "s3cret"), code: 401},
		{name: "no credentials", client: trusting, scheme: "https", path: "/metrics", code: 401},
		{name: "healthz needs auth too", client: trusting, scheme: "https", path: "/healthz", code: 401},
		{name: "healthz with auth", client: trusting, scheme: "https", path: "/healthz", header: auth("prom", "s3cret"), code: 200},
		{name: "readyz not ready", client: trusting, scheme: "https", path: "/readyz", header: auth("prom", "s3cret"), code: 503},
		{name: "readyz ready", client: trusting, scheme: "https", path: "/readyz", header: auth("prom", "s3cret"), ready: true, code: 200},
		// Go's TLS server answers a plain HTTP request with 400.
		{name: "plain HTTP to TLS port", client: plainClient(), scheme: "http", path: "/metrics", header: auth("prom", "s3cret"), code: 400},
		{name: "untrusted certificate", client: untrusting, scheme: "https", path: "/metrics", header: auth("prom", "s3cret"), wantErr: "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ready.Store(tc.ready)
			r, err := get(t, tc.client, tc.scheme+"://"+s.addr+tc.path, tc.header)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got err %v (status %d), want error containing %q", err, r.code, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GET %s: %v", tc.path, err)
			}
			if r.code != tc.code {
				t.Errorf("GET %s: status %d, want %d; body %q", tc.path, r.code, tc.code, r.body)
			}
			if tc.code == 200 && tc.path == "/metrics" && !strings.Contains(r.body, "test_lines_total 3") {
				t.Errorf("GET /metrics: body lacks test_lines_total:\n%s", r.body)
			}
		})
	}
	if err := s.stop(t); err != nil {
		t.Errorf("Serve after cancel: %v, want nil", err)
	}
}

func TestInvalidOptions(t *testing.T) {
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad-yaml.yml")
	writeFile(t, badYAML, "tls_server_config: [\n")
	unknownKey := filepath.Join(dir, "unknown-key.yml")
	writeFile(t, unknownKey, "tls_server_confg:\n  cert_file: x\n")
	missingCert := filepath.Join(dir, "missing-cert.yml")
	writeFile(t, missingCert, "tls_server_config:\n  cert_file: nothere.crt\n  key_file: nothere.key\n")
	badHash := filepath.Join(dir, "bad-hash.yml")
	writeFile(t, badHash, "basic_auth_users:\n  prom: plaintext\n")
	missingFile := filepath.Join(dir, "absent.yml")

	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	tests := []struct {
		name string
		o    Options
		want []string
	}{
		{"missing file", Options{WebConfig: missingFile}, []string{missingFile}},
		{"bad YAML", Options{WebConfig: badYAML}, []string{badYAML, "yaml"}},
		{"unknown key", Options{WebConfig: unknownKey}, []string{unknownKey, "tls_server_confg"}},
		{"missing cert", Options{WebConfig: missingCert}, []string{missingCert, "nothere.crt"}},
		{"bad bcrypt hash", Options{WebConfig: badHash}, []string{badHash}},
		{"no gatherer", Options{Gatherer: nil}, []string{"Gatherer"}},
		{"extra conflicts with metrics", Options{Extra: map[string]http.Handler{"GET /metrics": h}}, []string{`"GET /metrics"`}},
		{"extra bad pattern", Options{Extra: map[string]http.Handler{"GET": h}}, []string{`"GET"`}},
		{"extra nil handler", Options{Extra: map[string]http.Handler{"/x": nil}}, []string{`"/x"`, "nil handler"}},
	}
	for _, tc := range tests {
		for _, entry := range []string{"Run", "Serve"} {
			t.Run(tc.name+"/"+entry, func(t *testing.T) {
				o := tc.o
				if o.Gatherer == nil && tc.name != "no gatherer" {
					o.Gatherer = prometheus.NewRegistry()
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				if entry == "Run" {
					ln.Close()
					o.Listen = ln.Addr().String()
					err = Run(t.Context(), o)
				} else {
					err = Serve(t.Context(), ln, o)
				}
				if err == nil {
					t.Fatal("got nil error")
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if entry == "Serve" {
					// Serve owns the listener: it must be closed.
					if _, aerr := ln.Accept(); !errors.Is(aerr, net.ErrClosed) {
						t.Errorf("listener still open after failed Serve (Accept: %v)", aerr)
					}
				}
			})
		}
	}
}

func TestRunPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	done := make(chan error, 1)
	go func() {
		done <- Run(t.Context(), Options{Listen: busy.Addr().String(), Gatherer: prometheus.NewRegistry()})
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
			t.Errorf("Run on a busy port: %v, want an error naming %s", err, busy.Addr())
		}
	case <-time.After(testTimeout):
		t.Fatal("Run on a busy port did not return")
	}
}

// Run on a real address comes up, serves, and shuts down cleanly.
func TestRunServesAndStops(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Listen: addr, Gatherer: testRegistry(t)}) }()

	deadline := time.Now().Add(testTimeout)
	for {
		r, err := get(t, plainClient(), "http://"+addr+"/healthz", nil)
		if err == nil && r.code == 200 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned before serving: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server on %s not up within %s: %v", addr, testTimeout, err)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, not synchronisation
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v, want nil", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Run did not return after cancel")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Run returned", addr)
	}
}

// An in-flight request finishes during a graceful shutdown; one that
// outlives ShutdownTimeout makes Serve report the missed deadline.
func TestGracefulShutdown(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		release bool // let the in-flight request finish once shutdown began
		wantErr bool
	}{
		{name: "in-flight request completes", timeout: testTimeout, release: true},
		{name: "deadline passes", timeout: 50 * time.Millisecond, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entered := make(chan struct{})
			release := make(chan struct{})
			defer close(release)
			slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(entered)
				<-release
				_, _ = io.WriteString(w, "done")
			})
			s := start(t, Options{Gatherer: prometheus.NewRegistry(), ShutdownTimeout: tc.timeout,
				Extra: map[string]http.Handler{"GET /slow": slow}})

			type result struct {
				r   response
				err error
			}
			got := make(chan result, 1)
			go func() {
				r, err := get(t, plainClient(), "http://"+s.addr+"/slow", nil)
				got <- result{r, err}
			}()
			<-entered
			s.cancel()

			// Shutdown closes the listener first; wait for that before
			// letting the handler finish.
			deadline := time.Now().Add(testTimeout)
			for {
				c, err := net.Dial("tcp", s.addr)
				if err != nil {
					break
				}
				c.Close()
				if time.Now().After(deadline) {
					t.Fatal("listener still open after cancel")
				}
				time.Sleep(5 * time.Millisecond) // poll interval
			}

			if tc.release {
				release <- struct{}{} // the handler is blocked receiving
			}
			err := s.stop(t)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "shutdown") {
					t.Errorf("Serve: %v, want a shutdown deadline error", err)
				}
				return
			}
			if err != nil {
				t.Errorf("Serve: %v, want nil", err)
			}
			res := <-got
			if res.err != nil || res.r.code != 200 || res.r.body != "done" {
				t.Errorf("in-flight request: %+v, %v; want 200 \"done\"", res.r, res.err)
			}
		})
	}
}
