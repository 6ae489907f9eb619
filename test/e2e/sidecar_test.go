package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logmeter/logmeter/internal/kubetest"
)

// TestSidecarExample: examples/sidecar/ passes a server-side dry run on a
// real API server, and its logmeter configuration, pointed at a directory
// here instead of the pod's shared volume, counts the nginx log written
// there exactly as the example's expected values say.
func TestSidecarExample(t *testing.T) {
	example := filepath.Join(repoRoot, "examples", "sidecar")
	c := kubetest.Start(t)
	if _, err := c.Kubectl(t, "create", "namespace", "shop"); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Kubectl(t, "apply", "--dry-run=server", "-k", example); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(out, "deployment.apps/web created (server dry run)") {
		t.Errorf("dry run output:\n%s", out)
	}

	cfg, err := os.ReadFile(filepath.Join(example, "logmeter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	text := strings.NewReplacer(
		`"/var/log/app`, `"`+dir,
		`/var/log/app/.logmeter`, filepath.Join(dir, ".logmeter"),
		`"/etc/logmeter/rules/`, `"`+filepath.Join(repoRoot, "rules")+"/",
		`":9144"`, strconv.Quote(addr),
	).Replace(string(cfg))
	for _, pod := range []string{"/var/log/app", "/etc/logmeter", ":9144"} {
		if strings.Contains(text, pod) {
			t.Fatalf("the example configuration has a path this test does not map: %s\n%s", pod, text)
		}
	}
	cfgPath := filepath.Join(dir, "logmeter.yaml")
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfgPath, "http://"+addr, nil, [2]string{})

	logs := filepath.Join(repoRoot, "examples", "logs")
	lines, err := os.ReadFile(filepath.Join(logs, "nginx-timed.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "access.log"), lines, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sumOfExpected(t, filepath.Join(logs, "nginx-timed.expected"), "nginx_http_requests_total{")
	waitFor(t, 20*time.Second, fmt.Sprintf("%v requests counted", want), func() (bool, string) {
		got := d.scrape().get("nginx_http_requests_total")
		return got == want, fmt.Sprint(got)
	})
}

// sumOfExpected adds the values of the samples of an .expected file whose
// name starts with prefix.
func sumOfExpected(t *testing.T, path, prefix string) float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sum float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		sum += v
	}
	if sum == 0 {
		t.Fatalf("%s has no %s samples", path, prefix)
	}
	return sum
}
