package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/logmeter/logmeter/internal/estest"
	"github.com/logmeter/logmeter/internal/kubetest"
)

// TestKubernetesEvents runs the events watcher as deploy/events/ sets it up
// (its ServiceAccount's token only) against a real API server and the test
// Elasticsearch server: every event reaches the events index once, with
// its fields structured; the built-in counter and the shipped event rules
// count them; a repeat is a new document; a restart sends nothing twice.
func TestKubernetesEvents(t *testing.T) {
	es := estest.Start(t)
	c := kubetest.Start(t)
	ctx := t.Context()
	if _, err := c.Kubectl(t, "apply", "-k", filepath.Join(repoRoot, "deploy", "events")); err != nil {
		t.Fatal(err)
	}
	token, err := c.ServiceAccountToken("logmeter", "logmeter-events")
	if err != nil {
		t.Fatal(err)
	}
	admin := c.Client()
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	addr := freeAddr(t)
	userFile, passFile := filepath.Join(dir, "es-username"), filepath.Join(dir, "es-password")
	for f, v := range map[string]string{userFile: es.User(), passFile: es.Password()} {
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`server: {listen: %q}
rules: [%q]
state_dir: %q
tail: %s
kubernetes:
  events: true
  kubeconfig: %q
  events_lease_namespace: logmeter
forward:
  elasticsearch:
    urls: [%q]
    auth: {username_file: %q, password_file: %q}
    batch: {max_wait: 100ms}
`, addr, filepath.Join(repoRoot, "rules", "kubernetes-events.yaml"), filepath.Join(dir, "state"), defaultTail,
		c.KubeconfigFile(t, token), es.URL(), userFile, passFile)
	cfgPath := filepath.Join(dir, "logmeter.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	events := admin.CoreV1().Events("shop")
	create := func(name, typ, reason string) {
		t.Helper()
		now := metav1.Now()
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: name},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-" + name},
			Type:           typ, Reason: reason, Message: "about " + name,
			Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
			FirstTimestamp: now, LastTimestamp: now, Count: 1,
		}
		if _, err := events.Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	const normal, warnings = 12, 8
	for i := range normal {
		create(fmt.Sprintf("started-%d", i), corev1.EventTypeNormal, "Started")
	}
	d := startDaemon(t, cfgPath, "http://"+addr, nil, [2]string{})
	for i := range warnings {
		create(fmt.Sprintf("backoff-%d", i), corev1.EventTypeWarning, "BackOff")
	}

	const index = "k8s-events-*"
	waitCount(t, es, index, normal+warnings, 60*time.Second)
	ms := d.scrape()
	if got := ms.get("logmeter_kubernetes_events_leader"); got != 1 {
		t.Errorf("logmeter_kubernetes_events_leader = %v, want 1", got)
	}
	if got := ms.get("logmeter_kubernetes_events_total", "namespace", "shop", "kind", "Pod", "type", "Warning", "reason", "BackOff"); got != warnings {
		t.Errorf("built-in counter of BackOff warnings = %v, want %d", got, warnings)
	}
	if got := ms.get("logmeter_kubernetes_events_total"); got != normal+warnings {
		t.Errorf("built-in counter = %v, want %d", got, normal+warnings)
	}
	if got := ms.get("kubernetes_pod_backoff_events_total", "namespace", "shop", "pod", "web-backoff-3"); got != 1 {
		t.Errorf("kubernetes_pod_backoff_events_total for web-backoff-3 = %v, want 1", got)
	}
	if got := ms.get("kubernetes_warning_events_total"); got != warnings {
		t.Errorf("kubernetes_warning_events_total = %v, want %d", got, warnings)
	}

	res, err := es.Search(index, map[string]any{"size": 100})
	if err != nil {
		t.Fatal(err)
	}
	today := "k8s-events-" + time.Now().UTC().Format("2006.01.02")
	for _, h := range res.Hits {
		var doc struct {
			Timestamp string `json:"@timestamp"`
			Message   string `json:"message"`
			Event     struct {
				Dataset string `json:"dataset"`
			} `json:"event"`
			Kubernetes struct {
				Event struct {
					Reason, Namespace, Kind, Name, Message string
				} `json:"event"`
			} `json:"kubernetes"`
		}
		if err := json.Unmarshal(h.Source, &doc); err != nil {
			t.Fatal(err)
		}
		ev := doc.Kubernetes.Event
		if h.Index != today && !strings.HasPrefix(h.Index, "k8s-events-") {
			t.Errorf("document in index %q", h.Index)
		}
		if doc.Event.Dataset != "kubernetes-events" || ev.Namespace != "shop" || ev.Kind != "Pod" ||
			!strings.HasPrefix(ev.Name, "web-") || ev.Message != "about "+strings.TrimPrefix(ev.Name, "web-") ||
			!strings.HasPrefix(doc.Message, `{"type":`) {
			t.Errorf("document %s: %s", h.ID, h.Source)
		}
	}

	// A repeat is one more document and one more occurrence.
	ev, err := events.Get(ctx, "backoff-3", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev.Count, ev.LastTimestamp = 2, metav1.Now()
	if _, err := events.Update(ctx, ev, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCount(t, es, index, normal+warnings+1, 30*time.Second)
	waitFor(t, 10*time.Second, "the repeat counted", func() (bool, string) {
		got := d.scrape().get("kubernetes_pod_backoff_events_total", "namespace", "shop", "pod", "web-backoff-3")
		return got == 2, fmt.Sprint(got)
	})

	// A restart writes nothing twice; the rule counters carry on.
	if code := d.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	create("after-restart", corev1.EventTypeWarning, "FailedMount")
	d = startDaemon(t, cfgPath, "http://"+addr, nil, [2]string{})
	waitCount(t, es, index, normal+warnings+2, 60*time.Second)
	time.Sleep(2 * time.Second) // nothing more may arrive
	if n, err := es.Count(index); err != nil || n != normal+warnings+2 {
		t.Errorf("%d documents after the restart (%v), want %d", n, err, normal+warnings+2)
	}
	waitFor(t, 10*time.Second, "the rule counter restored and counting", func() (bool, string) {
		got := d.scrape().get("kubernetes_warning_events_total")
		return got == warnings+2, fmt.Sprint(got)
	})
}
