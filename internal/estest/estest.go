// Package estest starts the test-only Elasticsearch-compatible server
// (test/esserver, built on ZincSearch) for tests that forward to
// Elasticsearch, and offers the few queries those tests need.
//
// The server binary is built by scripts/build-esserver.sh into a cache
// outside the repository (the first build takes about a minute or more);
// set ESSERVER_BIN to use a binary built elsewhere.
package estest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is one running esserver process with its own data directory.
type Server struct {
	t        testing.TB
	bin      string
	dataDir  string
	user     string
	password string
	client   *http.Client

	mu   sync.Mutex
	addr string // host:port, fixed after the first start
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	logs *logBuffer
}

const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// Start builds esserver if needed, starts it on a free 127.0.0.1 port with
// a fresh data directory, waits until it is ready and stops it when the
// test ends. It fails the test if the server cannot be built or started;
// in short mode (go test -short) it skips the test instead.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := binary()
	if err != nil {
		if testing.Short() {
			t.Skipf("estest: esserver unavailable in short mode: %v", err)
		}
		t.Fatalf("estest: cannot build the test Elasticsearch server (test/esserver): %v", err)
	}
	s := &Server{
		t:        t,
		bin:      bin,
		dataDir:  t.TempDir(),
		user:     "elastic",
		password: randomPassword(),
		client:   &http.Client{Timeout: 2 * time.Minute},
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("esserver output:\n%s", s.Logs())
		}
	})
	if err := s.start(); err != nil {
		t.Fatalf("estest: %v\nesserver output:\n%s", err, s.Logs())
	}
	return s
}

// URL is the server's base URL, such as http://127.0.0.1:41234. It stays
// the same across Restart.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://" + s.addr
}

// User is the user name the server accepts (basic auth).
func (s *Server) User() string { return s.user }

// Password is the password the server accepts (basic auth).
func (s *Server) Password() string { return s.password }

// DataDir is the directory holding the server's data.
func (s *Server) DataDir() string { return s.dataDir }

// Logs returns what the server process has written so far.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logs == nil {
		return ""
	}
	return s.logs.String()
}

var listenLine = regexp.MustCompile(`listening on http://(\S+)`)

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("esserver is already running")
	}
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	logs := &logBuffer{}
	cmd := exec.Command(s.bin,
		"--listen", addr,
		"--data", s.dataDir,
		"--user", s.user,
		"--password", s.password,
	)
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done, s.logs = cmd, done, logs

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("esserver exited during start-up: %v", cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("esserver not ready after %v", startTimeout)
		}
		if s.addr == "" {
			if m := listenLine.FindStringSubmatch(logs.String()); m != nil {
				s.addr = m[1]
			}
		}
		if s.addr != "" {
			resp, err := s.client.Get("http://" + s.addr + "/_health")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop stops the server gracefully (SIGTERM; SIGKILL if it hangs). The
// data directory and port are kept for Restart. Stopping a stopped server
// does nothing.
func (s *Server) Stop() {
	s.stop(syscall.SIGTERM)
}

// Kill stops the server abruptly (SIGKILL), as in a crash.
func (s *Server) Kill() {
	s.stop(syscall.SIGKILL)
}

func (s *Server) stop(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart stops the server if it is running and starts it again on the
// same port with the same data, waiting until it is ready.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("estest: restarting esserver: %v\nesserver output:\n%s", err, s.Logs())
	}
}

// Do sends an authenticated request to the server; path is relative to
// URL (such as "/logs/_search"). A non-nil body is sent as JSON.
func (s *Server) Do(method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL()+path, body)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(s.user, s.password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.client.Do(req)
}

// call sends a request and decodes a 2xx JSON answer into out. It returns
// errNotFound for 404 answers.
func (s *Server) call(method, path string, body io.Reader, out any) error {
	resp, err := s.Do(method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s %s: %w: %s", method, path, errNotFound, bytes.TrimSpace(data))
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decoding answer: %w", method, path, err)
	}
	return nil
}

var errNotFound = errors.New("not found")

func indexPath(index string) string {
	if index == "" {
		return ""
	}
	return "/" + url.PathEscape(index)
}

// Refresh waits until every document the server has acknowledged in the
// given index (an index name, a comma-separated list or a wildcard pattern;
// all indices if empty) is searchable. A missing index is not an error.
func (s *Server) Refresh(index string) error {
	err := s.call(http.MethodPost, indexPath(index)+"/_refresh", nil, nil)
	if errors.Is(err, errNotFound) {
		return nil
	}
	return err
}

// Count refreshes index and returns how many documents it holds; index
// may be a pattern such as "logstash-*". A missing index counts 0.
func (s *Server) Count(index string) (int, error) {
	if err := s.Refresh(index); err != nil {
		return 0, err
	}
	var out struct {
		Count int `json:"count"`
	}
	err := s.call(http.MethodGet, indexPath(index)+"/_count", nil, &out)
	if errors.Is(err, errNotFound) {
		return 0, nil
	}
	return out.Count, err
}

// Hit is one search result.
type Hit struct {
	Index  string          `json:"_index"`
	ID     string          `json:"_id"`
	Source json.RawMessage `json:"_source"`
}

// SearchResult is the part of a search answer tests look at.
type SearchResult struct {
	Total int   // all matching documents
	Hits  []Hit // the requested page of them
}

// Search refreshes index and runs a search. query is the request body:
// nil for the first 10 documents, a string or []byte holding JSON, or a
// value encoded as JSON (such as map[string]any{"query": ..., "size": 100}).
// A missing index gives an empty result.
func (s *Server) Search(index string, query any) (*SearchResult, error) {
	if err := s.Refresh(index); err != nil {
		return nil, err
	}
	return s.search(index, query)
}

func (s *Server) search(index string, query any) (*SearchResult, error) {
	var body io.Reader
	switch q := query.(type) {
	case nil:
	case string:
		body = strings.NewReader(q)
	case []byte:
		body = bytes.NewReader(q)
	default:
		b, err := json.Marshal(q)
		if err != nil {
			return nil, fmt.Errorf("encoding query: %w", err)
		}
		body = bytes.NewReader(b)
	}
	var out struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
			Hits []Hit `json:"hits"`
		} `json:"hits"`
	}
	err := s.call(http.MethodPost, indexPath(index)+"/_search", body, &out)
	if errors.Is(err, errNotFound) {
		return &SearchResult{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &SearchResult{Total: out.Hits.Total.Value, Hits: out.Hits.Hits}, nil
}

// IDs refreshes index and returns every document _id in it with the number
// of documents carrying that _id (more than 1 only across several indices
// of a pattern). It pages through all hits and fails the test on error, so
// call it from the test's goroutine.
func (s *Server) IDs(index string) map[string]int {
	s.t.Helper()
	ids, err := s.ids(index)
	if err != nil {
		s.t.Fatalf("estest: listing ids of %q: %v", index, err)
	}
	return ids
}

func (s *Server) ids(index string) (map[string]int, error) {
	if err := s.Refresh(index); err != nil {
		return nil, err
	}
	const page = 5000
	ids := map[string]int{}
	for from := 0; ; from += page {
		res, err := s.search(index, map[string]any{
			"query":   map[string]any{"match_all": map[string]any{}},
			"sort":    []any{"_id", "_index"},
			"_source": false,
			"from":    from,
			"size":    page,
		})
		if err != nil {
			return nil, err
		}
		for _, h := range res.Hits {
			ids[h.ID]++
		}
		if len(res.Hits) < page || from+len(res.Hits) >= res.Total {
			return ids, nil
		}
	}
}

func randomPassword() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "estest-password"
	}
	return hex.EncodeToString(b)
}

// logBuffer collects the server's output; the process writes to it while
// tests read it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// binary returns the esserver binary: $ESSERVER_BIN if set, else the one
// scripts/build-esserver.sh builds (once per test process).
func binary() (string, error) {
	buildOnce.Do(func() {
		if bin := os.Getenv("ESSERVER_BIN"); bin != "" {
			if _, err := os.Stat(bin); err != nil {
				buildErr = fmt.Errorf("ESSERVER_BIN: %w", err)
				return
			}
			buildBin = bin
			return
		}
		root, err := repoRoot()
		if err != nil {
			buildErr = err
			return
		}
		script := filepath.Join(root, "scripts", "build-esserver.sh")
		var stdout, stderr bytes.Buffer
		cmd := exec.Command("bash", script)
		cmd.Dir = root
		cmd.Stdout = &stdout
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("%s failed: %v\n%s", script, err, stderr.String())
			return
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		buildBin = strings.TrimSpace(lines[len(lines)-1])
		if _, err := os.Stat(buildBin); err != nil {
			buildErr = fmt.Errorf("%s printed %q: %v\n%s", script, buildBin, err, stderr.String())
		}
	})
	return buildBin, buildErr
}

// repoRoot finds the repository root (the directory holding
// scripts/build-esserver.sh) from the working directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "build-esserver.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/build-esserver.sh not found above the working directory")
		}
		dir = parent
	}
}
