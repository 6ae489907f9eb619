package kube

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/logmeter/logmeter/pkg/logline"
)

// eventually polls cond with a deadline: informers deliver asynchronously.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a bound for a loaded machine, not a wait
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPodsFeedTheEnricher(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", UID: "uid-1", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "node-1"},
	})
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "up"})
	pods := NewPods(client, "node-1", nil, up)
	if err := pods.Run(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pod", func() bool { return pods.Len() == 1 })
	eventually(t, "the up gauge", func() bool { return testutil.ToFloat64(up) == 1 })

	e := &Enricher{Node: "node-1", Pods: pods}
	line := func() *logline.Kube {
		l := logline.Line{Source: "/var/log/containers/web-1_shop_nginx-0123456789abcdef.log"}
		e.Enrich(&l)
		return l.Kube
	}
	k := line()
	if k == nil || k.PodUID != "uid-1" || k.Labels["app"] != "web" || k.Node != "node-1" || k.Container != "nginx" {
		t.Fatalf("Kube = %+v", k)
	}
	if line() != k {
		t.Error("metadata looked up again without a change")
	}

	// A label change reaches the lines (as a new value).
	p, _ := client.CoreV1().Pods("shop").Get(ctx, "web-1", metav1.GetOptions{})
	p.Labels = map[string]string{"app": "web", "track": "canary"}
	if _, err := client.CoreV1().Pods("shop").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new label", func() bool { return line().Labels["track"] == "canary" })

	// A deleted pod falls back to what the file name says.
	if err := client.CoreV1().Pods("shop").Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the fallback", func() bool {
		k := line()
		return k != nil && k.Labels == nil && k.Namespace == "shop" && k.Pod == "web-1"
	})
}

func TestTrimKeepsOnlyWhatIsUsed(t *testing.T) {
	in := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "n", UID: "u", Labels: map[string]string{"a": "b"},
			Annotations: map[string]string{"big": "annotation"}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}},
		Spec:   corev1.PodSpec{NodeName: "node", Containers: []corev1.Container{{Name: "c", Image: "i"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	out, err := trim(in)
	if err != nil {
		t.Fatal(err)
	}
	p := out.(*corev1.Pod)
	if p.Name != "p" || p.Namespace != "n" || p.UID != "u" || p.Labels["a"] != "b" || p.Spec.NodeName != "node" {
		t.Errorf("lost a field: %+v", p)
	}
	if p.Annotations != nil || p.ManagedFields != nil || p.Spec.Containers != nil || p.Status.Phase != "" {
		t.Errorf("kept a field logmeter does not use: %+v", p)
	}
}
