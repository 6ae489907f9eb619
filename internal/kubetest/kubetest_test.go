package kubetest

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func TestCluster(t *testing.T) {
	c := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := c.Client()

	if !strings.HasPrefix(c.URL(), "https://127.0.0.1:") {
		t.Errorf("URL() = %q, want https://127.0.0.1:PORT", c.URL())
	}
	version, err := admin.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if version.GitVersion == "v0.0.0" || !strings.HasPrefix(version.GitVersion, "v1.") {
		t.Errorf("server version = %q, want v1.x (was -X ...gitVersion set at build time?)", version.GitVersion)
	}

	// A node and a pod bound to it, as a kubelet would see them.
	const nodeName = "node-a"
	if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: nodeName},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating node: %v", err)
	}
	const ns = "default"
	pod, err := admin.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			NodeName:   nodeName,
			Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating pod: %v", err)
	}
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"},
		Spec: corev1.PodSpec{
			NodeName:   "node-b",
			Containers: []corev1.Container{{Name: "app", Image: "busybox"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating second pod: %v", err)
	}

	onNode := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", nodeName).String()}
	pods, err := admin.CoreV1().Pods(metav1.NamespaceAll).List(ctx, onNode)
	if err != nil {
		t.Fatalf("listing pods on %s: %v", nodeName, err)
	}
	if len(pods.Items) != 1 || pods.Items[0].UID != pod.UID {
		t.Fatalf("pods on %s = %v, want only %s", nodeName, podNames(pods.Items), pod.Name)
	}

	// A ServiceAccount that may read pods and nothing else.
	const saNS = "logmeter"
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: saNS},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	if _, err := admin.CoreV1().ServiceAccounts(saNS).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "logmeter"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating service account: %v", err)
	}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "logmeter-pod-reader"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""},
			Resources: []string{"pods"},
			Verbs:     []string{"get", "list", "watch"},
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating cluster role: %v", err)
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "logmeter-pod-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "logmeter-pod-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNS, Name: "logmeter"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating cluster role binding: %v", err)
	}

	if _, err := c.ServiceAccountToken(saNS, "missing"); !apierrors.IsNotFound(err) {
		t.Errorf("token for a missing service account: err = %v, want NotFound", err)
	}
	token, err := c.ServiceAccountToken(saNS, "logmeter")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigFile(t, token))
	if err != nil {
		t.Fatalf("loading kubeconfig: %v", err)
	}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The authorizer sees the new binding through a watch: poll, with a
	// deadline, until it does.
	deadline := time.Now().Add(30 * time.Second)
	for {
		pods, err = sa.CoreV1().Pods(metav1.NamespaceAll).List(ctx, onNode)
		if err == nil {
			break
		}
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			t.Fatalf("service account listing pods: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not synchronisation
	}
	if len(pods.Items) != 1 || pods.Items[0].UID != pod.UID {
		t.Errorf("service account: pods on %s = %v, want only %s", nodeName, podNames(pods.Items), pod.Name)
	}
	if _, err := sa.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("service account listing secrets: err = %v, want Forbidden", err)
	}
	if _, err := sa.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("service account getting pod: %v", err)
	}

	// Without a kubelet only an immediate delete removes a bound pod.
	if err := admin.CoreV1().Pods(ns).Delete(ctx, pod.Name, *metav1.NewDeleteOptions(0)); err != nil {
		t.Fatalf("deleting pod: %v", err)
	}
	if _, err := admin.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod after delete: err = %v, want NotFound", err)
	}
}

func podNames(pods []corev1.Pod) []string {
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	return names
}
