package kube

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
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

// TestDeployRBACAgainstAPIServer applies deploy/rbac.yaml to a real API
// server and checks, with the ServiceAccount's own token only, that it can
// get, list and watch pods and nothing else; the other manifests pass a
// server-side dry run.
func TestDeployRBACAgainstAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	ctx := t.Context()
	dyn, err := dynamic.NewForConfig(c.AdminConfig())
	if err != nil {
		t.Fatal(err)
	}
	apply := func(file string, dryRun bool) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("..", "..", "deploy", file))
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(data)), 4096)
		for {
			var obj unstructured.Unstructured
			if err := dec.Decode(&obj.Object); err != nil {
				break
			}
			if len(obj.Object) == 0 {
				continue
			}
			gvk := obj.GroupVersionKind()
			res := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}
			if gvk.Kind == "DaemonSet" {
				res.Resource = "daemonsets"
			}
			opts := metav1.CreateOptions{}
			if dryRun {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			var ri dynamic.ResourceInterface = dyn.Resource(res)
			if ns := obj.GetNamespace(); ns != "" {
				ri = dyn.Resource(res).Namespace(ns)
			}
			if _, err := ri.Create(ctx, &obj, opts); err != nil {
				t.Fatalf("%s: %s %s: %v", file, gvk.Kind, obj.GetName(), err)
			}
		}
	}
	apply("namespace.yaml", false)
	apply("rbac.yaml", false)
	apply("daemonset.yaml", true)
	apply("service.yaml", true)

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
