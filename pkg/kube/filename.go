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

// Enricher sets line.Kube from the file a line comes from, parsing each
// file name once. It is not safe for concurrent use: each reading
// goroutine has its own.
type Enricher struct {
	Node  string // kubernetes.node of every line, when known
	cache map[string]*logline.Kube
}

// maxCached bounds the cache; past it the cache starts over (file names of
// a node change slowly, so this is rare).
const maxCached = 20000

// Enrich sets l.Kube when the file name says which pod wrote it.
func (e *Enricher) Enrich(l *logline.Line) {
	if l.Kube != nil {
		return
	}
	k, ok := e.cache[l.Source]
	if !ok {
		if e.cache == nil || len(e.cache) >= maxCached {
			e.cache = map[string]*logline.Kube{}
		}
		k, _ = FromPath(l.Source)
		if k != nil && e.Node != "" {
			k.Node = e.Node
		}
		e.cache[l.Source] = k
	}
	l.Kube = k
}
