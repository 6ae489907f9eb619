package kube

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/logmeter/logmeter/internal/kubetest"
)

// BenchmarkPodCacheMemory measures the heap the pod cache of one node takes
// with 500 pods on that node and 5,000 in the cluster (against a real API
// server; each pod carries 6 labels).
func BenchmarkPodCacheMemory(b *testing.B) {
	c := kubetest.Start(b)
	ctx := b.Context()
	admin := c.Client()
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "load"}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < 5000; i += 8 {
				node := fmt.Sprintf("node-%d", 1+i%10) // node-1 gets 500
				p := newPod("load", fmt.Sprintf("app-%05d", i), node, map[string]string{
					"app": fmt.Sprintf("app-%d", i%50), "tier": "web", "team": "shop",
					"version": "v1.2.3", "pod-template-hash": "7d4b9c6f5", "track": "stable",
				})
				if _, err := admin.CoreV1().Pods("load").Create(ctx, p, metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		p := NewPods(admin, "node-1", nil, nil)
		pctx, cancel := context.WithCancel(ctx)
		if err := p.Run(pctx); err != nil {
			b.Fatal(err)
		}
		for p.Len() < 500 {
			runtime.Gosched()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-heap")
		b.ReportMetric(float64(p.Len()), "pods")
		cancel()
	}
}
