package kube

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Pods keeps the metadata of the pods of one node, from a shared informer
// that lists and watches only that node's pods (field selector
// spec.nodeName) and keeps only the fields logmeter uses, so memory stays
// small on nodes with hundreds of pods. Lookups are safe from any
// goroutine. When the API server is unreachable the informer retries with
// backoff; lines meanwhile get file-name metadata.
type Pods struct {
	client kubernetes.Interface
	node   string
	log    *slog.Logger
	up     prometheus.Gauge // 1 while the informer is synced and watching

	mu      sync.RWMutex
	pods    map[string]*pod // namespace/name
	gen     atomic.Uint64   // bumped on every change: enrichers re-look-up
	lastErr atomic.Int64    // unix nanoseconds of the last watch error
}

type pod struct {
	uid    string
	labels map[string]string
}

// NewPods returns Pods for the given node. up (may be nil) reports whether
// the API server's view is synced.
func NewPods(client kubernetes.Interface, node string, log *slog.Logger, up prometheus.Gauge) *Pods {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pods{client: client, node: node, log: log, up: up, pods: map[string]*pod{}}
}

// trim keeps what logmeter reads of a pod: its identity, labels and node.
func trim(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil // tombstones pass through
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, Labels: p.Labels,
			ResourceVersion: p.ResourceVersion,
		},
		Spec: corev1.PodSpec{NodeName: p.Spec.NodeName},
	}, nil
}

// Run watches pods until ctx is done. It returns at once; HasSynced tells
// when the first list arrived.
func (p *Pods) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactoryWithOptions(p.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", p.node).String()
		}),
		informers.WithTransform(trim),
	)
	inf := factory.Core().V1().Pods().Informer()
	if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		p.log.Warn("Kubernetes API watch failed; retrying with backoff, file-name metadata meanwhile", "err", err)
		p.lastErr.Store(time.Now().UnixNano())
		if p.up != nil {
			p.up.Set(0)
		}
	}); err != nil {
		return fmt.Errorf("kubernetes: %w", err)
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.set,
		UpdateFunc: func(_, obj any) { p.set(obj) },
		DeleteFunc: p.remove,
	}); err != nil {
		return fmt.Errorf("kubernetes: %w", err)
	}
	factory.Start(ctx.Done())
	go func() {
		cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
		// Up: synced, and no watch error for a while (the reflector retries
		// on its own and says nothing when it succeeds again).
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			if p.up != nil {
				quiet := time.Since(time.Unix(0, p.lastErr.Load())) > 30*time.Second
				p.up.Set(boolFloat(inf.HasSynced() && quiet))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

func (p *Pods) set(obj any) {
	po, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := po.Namespace + "/" + po.Name
	p.mu.Lock()
	old := p.pods[key]
	if old == nil || old.uid != string(po.UID) || !maps.Equal(old.labels, po.Labels) {
		p.pods[key] = &pod{uid: string(po.UID), labels: maps.Clone(po.Labels)}
		p.gen.Add(1)
	}
	p.mu.Unlock()
}

func (p *Pods) remove(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	p.mu.Lock()
	delete(p.pods, m.GetNamespace()+"/"+m.GetName())
	p.mu.Unlock()
	p.gen.Add(1)
}

// Generation changes whenever any pod's metadata does.
func (p *Pods) Generation() uint64 { return p.gen.Load() }

// Lookup returns the UID and labels of a pod of this node.
func (p *Pods) Lookup(namespace, name string) (uid string, labels map[string]string, ok bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	po, ok := p.pods[namespace+"/"+name]
	if !ok {
		return "", nil, false
	}
	return po.uid, po.labels, true
}

// Len is the number of pods known.
func (p *Pods) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.pods)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
