package kube

import (
	"path/filepath"
	"strings"

	"github.com/logmeter/logmeter/pkg/logline"
)

// FromPath reads pod metadata from the names kubelet gives container logs:
//
//	/var/log/containers/<pod>_<namespace>_<container>-<container id>.log
//	/var/log/pods/<namespace>_<pod>_<pod uid>/<container>/<restart>.log
//
// Pod and namespace names cannot contain '_', which makes both forms
// unambiguous. It reports false for other paths.
func FromPath(p string) (*logline.Kube, bool) {
	p = filepath.ToSlash(p)
	base := filepath.Base(p)
	dir := filepath.Base(filepath.Dir(p))
	if strings.HasSuffix(base, ".log") && dir == "containers" {
		name := strings.TrimSuffix(base, ".log")
		parts := strings.SplitN(name, "_", 3)
		if len(parts) == 3 {
			container := parts[2]
			if i := strings.LastIndexByte(container, '-'); i > 0 && isContainerID(container[i+1:]) {
				container = container[:i]
			}
			if parts[0] != "" && parts[1] != "" && container != "" {
				return &logline.Kube{Pod: parts[0], Namespace: parts[1], Container: container}, true
			}
		}
	}
	// pods layout: .../pods/<ns>_<pod>_<uid>/<container>/<n>.log[.<rotation suffix>]
	podDir := filepath.Base(filepath.Dir(filepath.Dir(p)))
	if filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(p)))) == "pods" {
		parts := strings.SplitN(podDir, "_", 3)
		if len(parts) == 3 && parts[0] != "" && parts[1] != "" && dir != "" {
			return &logline.Kube{Namespace: parts[0], Pod: parts[1], PodUID: parts[2], Container: dir}, true
		}
	}
	return nil, false
}

func isContainerID(s string) bool {
	if len(s) < 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Enricher sets line.Kube from the file a line comes from: namespace, pod
// and container from kubelet's file name, and, when Pods is set and knows
// the pod, its UID and labels. The result is computed once per file and
// again only when pod metadata changes (a new Kube value each time, which
// tells later stages to look again). It is not safe for concurrent use:
// each reading goroutine has its own.
type Enricher struct {
	Node  string // kubernetes.node of every line, when known
	Pods  *Pods  // may be nil: file names only
	cache map[string]cached
}

type cached struct {
	kube *logline.Kube
	gen  uint64
}

// maxCached bounds the cache; past it the cache starts over (file names of
// a node change slowly, so this is rare).
const maxCached = 20000

// Enrich sets l.Kube when the file name says which pod wrote it.
func (e *Enricher) Enrich(l *logline.Line) {
	if l.Kube != nil {
		return
	}
	var gen uint64
	if e.Pods != nil {
		gen = e.Pods.Generation()
	}
	c, ok := e.cache[l.Source]
	if !ok || c.gen != gen {
		if e.cache == nil || len(e.cache) >= maxCached {
			e.cache = map[string]cached{}
		}
		c = cached{kube: e.lookup(l.Source), gen: gen}
		e.cache[l.Source] = c
	}
	l.Kube = c.kube
}

func (e *Enricher) lookup(source string) *logline.Kube {
	k, ok := FromPath(source)
	if !ok {
		return nil
	}
	k.Node = e.Node
	if k.PodUID == "" {
		// /var/log/containers/ names point into /var/log/pods/, whose
		// directory names carry the pod's UID.
		if target, err := filepath.EvalSymlinks(source); err == nil && target != source {
			if t, ok := FromPath(target); ok && t.Namespace == k.Namespace && t.Pod == k.Pod {
				k.PodUID = t.PodUID
			}
		}
	}
	if e.Pods != nil {
		if uid, labels, found := e.Pods.Lookup(k.Namespace, k.Pod); found {
			if k.PodUID == "" {
				k.PodUID = uid
			}
			k.Labels = labels
		}
	}
	return k
}
