package kube

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

func newEvent(ns, name, uid, rv, reason string, count int32, last time.Time) *corev1.Event {
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid), ResourceVersion: rv,
			CreationTimestamp: metav1.NewTime(last.Add(-time.Duration(count) * time.Minute))},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "web-1", UID: "pod-uid"},
		Reason:         reason,
		Message:        "Back-off restarting failed container <app> & co",
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp: metav1.NewTime(last.Add(-time.Duration(count) * time.Minute)),
		LastTimestamp:  metav1.NewTime(last),
		Count:          count,
		Type:           corev1.EventTypeWarning,
	}
}

func eventCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "events_total"}, []string{"namespace", "kind", "type", "reason"})
}

// readEventLines returns the JSON objects of the event log and its rotated
// generation, oldest first.
func readEventLines(t *testing.T, dir string) []EventLine {
	t.Helper()
	var out []EventLine
	for _, name := range []string{EventLogName + ".1", EventLogName} {
		f, err := os.Open(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			parts := strings.SplitN(sc.Text(), " ", 4)
			if len(parts) != 4 || parts[1] != "stdout" || parts[2] != "F" {
				t.Fatalf("%s: not a CRI line: %q", name, sc.Text())
			}
			var l EventLine
			if err := json.Unmarshal([]byte(parts[3]), &l); err != nil {
				t.Fatalf("%s: %v in %q", name, err, parts[3])
			}
			ts, err := time.Parse(time.RFC3339Nano, parts[0])
			if err != nil || !ts.Equal(l.LastSeen) {
				t.Fatalf("line time %q (%v), want last_seen %v", parts[0], err, l.LastSeen)
			}
			out = append(out, l)
		}
		f.Close()
	}
	return out
}

// runEvents runs Events until the returned stop is called.
func runEvents(t *testing.T, client kubernetes.Interface, dir string, counter *prometheus.CounterVec, maxBytes int64) (stop func()) {
	t.Helper()
	e := NewEvents(EventsOptions{Client: client, Dir: dir, Counter: counter, SaveEvery: 50 * time.Millisecond, MaxFileBytes: maxBytes})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := e.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return func() { cancel(); wg.Wait() }
}

func TestEventsWrittenOnceAcrossRestarts(t *testing.T) {
	ctx := t.Context()
	now := time.Now().Truncate(time.Second)
	client := fake.NewClientset(
		newEvent("shop", "old", "uid-old", "1", "BackOff", 3, now.Add(-time.Hour)),
		newEvent("shop", "recent", "uid-recent", "2", "BackOff", 1, now.Add(-time.Minute)),
	)
	events := client.CoreV1().Events("shop")
	dir := t.TempDir()
	counter := eventCounter()
	backoff := counter.WithLabelValues("shop", "Pod", "Warning", "BackOff")

	stop := runEvents(t, client, dir, counter, 0)
	eventually(t, "the recent event", func() bool { return len(readEventLines(t, dir)) == 1 })
	if l := readEventLines(t, dir)[0]; l.EventUID != "uid-recent" || l.Namespace != "shop" || l.Kind != "Pod" ||
		l.Name != "web-1" || l.Reason != "BackOff" || l.Count != 1 || l.Component != "kubelet" ||
		l.Message != "Back-off restarting failed container <app> & co" {
		t.Errorf("line = %+v", l)
	}

	// A repeat: count 1 -> 4 is three occurrences.
	if _, err := events.Update(ctx, newEvent("shop", "recent", "uid-recent", "3", "BackOff", 4, now), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the repeat", func() bool { return len(readEventLines(t, dir)) == 2 })
	if got := testutil.ToFloat64(backoff); got != 4 {
		t.Errorf("counter = %v, want 4 (1 + 3 repeats)", got)
	}
	stop()

	// While stopped: a new event, and another repeat of the recent one.
	if _, err := events.Create(ctx, newEvent("shop", "new", "uid-new", "4", "Unhealthy", 1, now), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := events.Update(ctx, newEvent("shop", "recent", "uid-recent", "5", "BackOff", 5, now), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stop = runEvents(t, client, dir, counter, 0)
	defer stop()
	eventually(t, "what happened while stopped", func() bool { return len(readEventLines(t, dir)) == 4 })
	time.Sleep(200 * time.Millisecond) // nothing else may follow
	lines := readEventLines(t, dir)
	var got []string
	for _, l := range lines {
		got = append(got, l.EventUID+"@"+l.ResourceVersion)
	}
	want := "uid-recent@2 uid-recent@3 "
	if s := strings.Join(got, " "); !strings.HasPrefix(s, want) || len(got) != 4 ||
		!strings.Contains(s, "uid-new@4") || !strings.Contains(s, "uid-recent@5") {
		t.Errorf("lines = %v, want %s then uid-new@4 and uid-recent@5", got, want)
	}
	if got := testutil.ToFloat64(backoff); got != 5 {
		t.Errorf("counter = %v, want 5", got)
	}
}

func TestEventsForgetDeleted(t *testing.T) {
	now := time.Now()
	client := fake.NewClientset(newEvent("shop", "a", "uid-a", "1", "BackOff", 1, now))
	dir := t.TempDir()
	stop := runEvents(t, client, dir, nil, 0)
	eventually(t, "the event", func() bool { return len(readEventLines(t, dir)) == 1 })
	if err := client.CoreV1().Events("shop").Delete(t.Context(), "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the record to drop the event", func() bool {
		st, err := loadEventState(dir)
		return err == nil && len(st.Seen) == 0
	})
	stop()
}

func TestEventLogRotates(t *testing.T) {
	now := time.Now()
	var objs []*corev1.Event
	client := fake.NewClientset()
	for i := range 20 {
		objs = append(objs, newEvent("shop", "e"+string(rune('a'+i)), "uid-"+string(rune('a'+i)), "1", "BackOff", 1, now))
	}
	dir := t.TempDir()
	stop := runEvents(t, client, dir, nil, 2000)
	for _, ev := range objs {
		if _, err := client.CoreV1().Events("shop").Create(t.Context(), ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Fewer than 20 remain: the log keeps one rotated generation.
	eventually(t, "a rotation", func() bool {
		_, err := os.Stat(filepath.Join(dir, EventLogName+".1"))
		return err == nil
	})
	stop()
	for _, name := range []string{EventLogName, EventLogName + ".1"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() > 2000 {
			t.Errorf("%s: %v, size %d; want at most 2000 bytes", name, err, fi.Size())
		}
	}
}

func TestEventLine(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 7, 250_000_000, time.FixedZone("x", 3600))
	node := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: "default", Name: "node-2.17d", UID: "e1", ResourceVersion: "9"},
		InvolvedObject:      corev1.ObjectReference{Kind: "Node", Name: "node-2"},
		Reason:              "Rebooted",
		Message:             "line \"one\"\nline two",
		ReportingController: "kubelet",
		ReportingInstance:   "node-2",
		EventTime:           metav1.NewMicroTime(at),
		Series:              &corev1.EventSeries{Count: 7, LastObservedTime: metav1.NewMicroTime(at.Add(time.Second))},
		Type:                corev1.EventTypeWarning,
	}
	if got := eventTime(node); !got.Equal(at.Add(time.Second)) {
		t.Errorf("eventTime = %v, want the series' last observation", got)
	}
	if got := occurrences(node); got != 7 {
		t.Errorf("occurrences = %d, want 7", got)
	}
	line := string(appendEventLine(nil, node, eventTime(node), occurrences(node)))
	want := `2024-05-01T11:00:08.25Z stdout F {"type":"Warning","reason":"Rebooted","namespace":"default","kind":"Node","name":"node-2","field_path":"","component":"kubelet","host":"node-2","count":7,"first_seen":"2024-05-01T11:00:07.25Z","last_seen":"2024-05-01T11:00:08.25Z","object_uid":"","event":"node-2.17d","event_uid":"e1","resource_version":"9","message":"line \"one\"\nline two"}` + "\n"
	if line != want {
		t.Errorf("line\n got %s\nwant %s", line, want)
	}
}
