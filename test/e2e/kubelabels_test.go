package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestContainerFilesKeepTheirOwnPods: lines of several kubelet-named
// container logs, read by the daemon in one pass, each carry their own
// file's namespace, pod and container (no API server: file names only).
func TestContainerFilesKeepTheirOwnPods(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "containers")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(`rules:
  - name: any
    match: '^%{WORD:word}'
    metrics:
      - name: words_total
        type: counter
        labels: {namespace: '{{.kubernetes.namespace}}', pod: '{{.kubernetes.pod}}', container: '{{.kubernetes.container}}'}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	pods := []struct{ pod, ns, container string }{
		{"web-1", "shop", "nginx"}, {"api-2", "payments", "app"}, {"db-0", "shop", "postgres"},
	}
	const perFile = 50
	for i, p := range pods {
		var b strings.Builder
		for j := range perFile {
			fmt.Fprintf(&b, "2024-05-01T12:00:%02d.000000000Z stdout F hello %d\n", j%60, j)
		}
		name := fmt.Sprintf("%s_%s_%s-%064x.log", p.pod, p.ns, p.container, i+1)
		if err := os.WriteFile(filepath.Join(logs, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	cfg := fmt.Sprintf("server: {listen: %q}\ninputs: [{name: containers, paths: [%q], format: cri, start_at: beginning}]\nrules: [%q]\nstate_dir: %q\ntail: %s\n",
		addr, filepath.Join(logs, "*.log"), rules, filepath.Join(dir, "state"), defaultTail)
	cfgPath := filepath.Join(dir, "logmeter.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfgPath, "http://"+addr, nil, [2]string{})
	d.waitLines(perFile*len(pods), 20*time.Second)
	ms := d.scrape()
	for _, p := range pods {
		if got := ms.get("words_total", "namespace", p.ns, "pod", p.pod, "container", p.container); got != perFile {
			t.Errorf("words_total for %s/%s/%s = %v, want %d", p.ns, p.pod, p.container, got, perFile)
		}
	}
	if got := ms.get("words_total"); got != float64(perFile*len(pods)) {
		t.Errorf("words_total over all series = %v, want %d", got, perFile*len(pods))
	}
}
