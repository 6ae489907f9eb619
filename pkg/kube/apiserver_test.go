package kube

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/logmeter/logmeter/internal/kubetest"
	"github.com/logmeter/logmeter/pkg/logline"
)

func newPod(ns, name, node string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app"}}},
	}
}

// TestPodsAgainstAPIServer runs the informer against a real kube-apiserver:
// only this node's pods are kept, label changes and deletions reach the
// lines' metadata, and a deleted pod falls back to the file name.
func TestPodsAgainstAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	ctx := t.Context()
	admin := c.Client()
	for _, n := range []string{"node-1", "node-2"} {
		if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := admin.CoreV1().Pods("shop")
	if _, err := pods.Create(ctx, newPod("shop", "web-1", "node-1", map[string]string{"app": "web"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, newPod("shop", "other-1", "node-2", map[string]string{"app": "other"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "up"})
	p := NewPods(admin, "node-1", nil, up)
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node-1's pod", func() bool { return p.Len() == 1 })
	eventually(t, "the up gauge", func() bool { return testutil.ToFloat64(up) == 1 })
	if _, _, ok := p.Lookup("shop", "other-1"); ok {
		t.Error("a pod of another node was cached")
	}

	e := &Enricher{Node: "node-1", Pods: p}
	meta := func() *logline.Kube {
		l := logline.Line{Source: "/var/log/containers/web-1_shop_nginx-0123456789abcdef.log"}
		e.Enrich(&l)
		return l.Kube
	}
	if k := meta(); k == nil || k.Labels["app"] != "web" || k.PodUID == "" {
		t.Fatalf("metadata = %+v", k)
	}
	web, err := pods.Get(ctx, "web-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web.Labels["version"] = "v2"
	if _, err := pods.Update(ctx, web, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the label change", func() bool { return meta().Labels["version"] == "v2" })

	// Without a kubelet a bound pod's deletion only ends with grace period 0.
	zero := int64(0)
	if err := pods.Delete(ctx, "web-1", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the fallback to the file name", func() bool {
		k := meta()
		return k != nil && k.Labels == nil && k.Pod == "web-1" && k.Namespace == "shop" && k.Container == "nginx"
	})
}

// TestDeployRBACAgainstAPIServer applies deploy/ with kubectl apply -k, as
// operators do, and checks, with the ServiceAccount's own token only, that
// it can get, list and watch pods and nothing else.
func TestDeployRBACAgainstAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	ctx := t.Context()
	deploy := filepath.Join("..", "..", "deploy")
	if out, err := c.Kubectl(t, "apply", "-k", deploy); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("kubectl apply -k deploy/:\n%s", out)
	}
	ds, err := c.Client().AppsV1().DaemonSets("logmeter").Get(ctx, "logmeter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ds.Spec.Template.Spec.ServiceAccountName; got != "logmeter" {
		t.Errorf("DaemonSet runs as %q, want the logmeter ServiceAccount", got)
	}
	// Applying again changes nothing (the generated names are stable).
	if out, err := c.Kubectl(t, "diff", "-k", deploy); err != nil {
		t.Errorf("kubectl diff after apply: %v\n%s", err, out)
	}

	token, err := c.ServiceAccountToken("logmeter", "logmeter")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigFile(t, token))
	if err != nil {
		t.Fatal(err)
	}
	sa, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-1"}); err != nil {
		t.Errorf("list pods: %v", err)
	}
	w, err := sa.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Errorf("watch pods: %v", err)
	} else {
		w.Stop()
	}
	forbidden := map[string]error{}
	_, forbidden["list secrets"] = sa.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	_, forbidden["list configmaps"] = sa.CoreV1().ConfigMaps("logmeter").List(ctx, metav1.ListOptions{})
	_, forbidden["create pods"] = sa.CoreV1().Pods("logmeter").Create(ctx, newPod("logmeter", "x", "node-1", nil), metav1.CreateOptions{})
	forbidden["delete pods"] = sa.CoreV1().Pods("logmeter").Delete(ctx, "x", metav1.DeleteOptions{})
	_, forbidden["list nodes"] = sa.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	_, forbidden["list clusterroles"] = sa.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want Forbidden", what, err)
		}
	}
	var cr *rbacv1.ClusterRole
	if cr, err = c.Client().RbacV1().ClusterRoles().Get(context.Background(), "logmeter", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(cr.Rules) != 1 || strings.Join(cr.Rules[0].Verbs, ",") != "get,list,watch" || strings.Join(cr.Rules[0].Resources, ",") != "pods" {
		t.Errorf("ClusterRole rules = %+v, want get/list/watch on pods only", cr.Rules)
	}
}

// TestEventsAgainstAPIServer applies deploy/events/ and runs two replicas
// of the events watcher with the ServiceAccount's own token: one is
// elected and writes the events; when it stops, the other takes over; and
// the ServiceAccount can read events and its Lease, nothing else.
func TestEventsAgainstAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	ctx := t.Context()
	admin := c.Client()
	if out, err := c.Kubectl(t, "apply", "-k", filepath.Join("..", "..", "deploy", "events")); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("kubectl apply -k deploy/events/:\n%s", out)
	}
	token, err := c.ServiceAccountToken("logmeter", "logmeter-events")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigFile(t, token))
	if err != nil {
		t.Fatal(err)
	}
	sa, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[string]error{}
	_, forbidden["list secrets"] = sa.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	_, forbidden["list pods"] = sa.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	_, forbidden["create events"] = sa.CoreV1().Events("logmeter").Create(ctx, newEvent("logmeter", "x", "", "", "X", 1, time.Now()), metav1.CreateOptions{})
	_, forbidden["get another lease"] = sa.CoordinationV1().Leases("logmeter").Get(ctx, "kube-scheduler", metav1.GetOptions{})
	_, forbidden["create a lease elsewhere"] = sa.CoordinationV1().Leases("default").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "logmeter-events"}}, metav1.CreateOptions{})
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want Forbidden", what, err)
		}
	}

	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	create := func(name string) {
		t.Helper()
		ev := newEvent("shop", name, "", "", "BackOff", 1, time.Now())
		if _, err := admin.CoreV1().Events("shop").Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create("before-start")

	type replica struct {
		dir    string
		leader prometheus.Gauge
		stop   context.CancelFunc
		done   chan error
	}
	start := func(name string) *replica {
		r := &replica{dir: t.TempDir(), leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "leader"}), done: make(chan error, 1)}
		var rctx context.Context
		rctx, r.stop = context.WithCancel(ctx)
		ev := NewEvents(EventsOptions{Client: sa, Dir: r.dir, SaveEvery: 100 * time.Millisecond})
		go func() {
			r.done <- Elect(rctx, ElectionOptions{
				Client: sa, Namespace: "logmeter", Name: "logmeter-events", Identity: name, Leader: r.leader,
				LeaseDuration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: 500 * time.Millisecond, // room for a loaded machine
			}, func(lctx context.Context) {
				if err := ev.Run(lctx); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			})
		}()
		t.Cleanup(func() { r.stop(); <-r.done })
		return r
	}
	names := func(r *replica) map[string]bool {
		out := map[string]bool{}
		for _, l := range readEventLines(t, r.dir) {
			out[l.Event] = true
		}
		return out
	}
	a := start("replica-a")
	eventually(t, "replica-a elected", func() bool { return testutil.ToFloat64(a.leader) == 1 })
	b := start("replica-b")
	create("while-a-leads")
	eventually(t, "replica-a writing both events", func() bool { return len(names(a)) == 2 })
	if got := names(b); len(got) != 0 || testutil.ToFloat64(b.leader) != 0 {
		t.Fatalf("replica-b wrote %v while replica-a led", got)
	}

	a.stop()
	if err := <-a.done; err != nil {
		t.Fatal(err)
	}
	a.done <- nil // for the cleanup
	if testutil.ToFloat64(a.leader) != 0 {
		t.Error("replica-a still reports leadership after stopping")
	}
	eventually(t, "replica-b taking over", func() bool { return testutil.ToFloat64(b.leader) == 1 })
	create("after-takeover")
	eventually(t, "replica-b writing the new event", func() bool { return names(b)["after-takeover"] })
	if names(a)["after-takeover"] {
		t.Error("replica-a wrote an event after it stopped")
	}
	lease, err := admin.CoordinationV1().Leases("logmeter").Get(ctx, "logmeter-events", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "replica-b" {
		t.Errorf("lease holder = %v (%v), want replica-b", lease.Spec.HolderIdentity, err)
	}
}
