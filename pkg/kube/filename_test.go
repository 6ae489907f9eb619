package kube

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/logmeter/logmeter/pkg/logline"
)

func TestFromPath(t *testing.T) {
	for _, c := range []struct {
		path string
		want *logline.Kube
	}{
		{"/var/log/containers/web-7d4b9c6f5-x2x9k_shop_nginx-3f5a0e9c1d7b4a2e8c6f0b1d9e7a5c3b2f4d6e8a0c1b3d5f7e9a2c4b6d8f0e1a.log",
			&logline.Kube{Pod: "web-7d4b9c6f5-x2x9k", Namespace: "shop", Container: "nginx"}},
		{"/var/log/containers/coredns-5d78c9869d-abcde_kube-system_coredns-0123456789ab.log",
			&logline.Kube{Pod: "coredns-5d78c9869d-abcde", Namespace: "kube-system", Container: "coredns"}},
		{"/var/log/containers/p_ns_side-car-123.log", // no container id: keep the name whole
			&logline.Kube{Pod: "p", Namespace: "ns", Container: "side-car-123"}},
		{"/var/log/pods/shop_web-7d4b9c6f5-x2x9k_8f1c2d3e-aaaa-bbbb-cccc-0123456789ab/nginx/0.log",
			&logline.Kube{Namespace: "shop", Pod: "web-7d4b9c6f5-x2x9k", PodUID: "8f1c2d3e-aaaa-bbbb-cccc-0123456789ab", Container: "nginx"}},
		{"/var/log/pods/shop_web_uid/nginx/0.log.20240501-120001", &logline.Kube{Namespace: "shop", Pod: "web", PodUID: "uid", Container: "nginx"}},
		{"/var/log/nginx/access.log", nil},
		{"/var/log/containers/nounderscore.log", nil},
		{"relative/containers/a_b_c-0123456789abcdef.log", &logline.Kube{Pod: "a", Namespace: "b", Container: "c"}},
	} {
		got, ok := FromPath(c.path)
		if (c.want == nil) != !ok || (ok && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("FromPath(%q) = %+v, %v; want %+v", c.path, got, ok, c.want)
		}
	}
}

func TestEnricherCachesPerFile(t *testing.T) {
	e := &Enricher{Node: "node-1"}
	l := logline.Line{Source: "/var/log/containers/p_ns_c-0123456789abcdef.log"}
	e.Enrich(&l)
	if l.Kube == nil || l.Kube.Node != "node-1" || l.Kube.Namespace != "ns" {
		t.Fatalf("Kube = %+v", l.Kube)
	}
	first := l.Kube
	l.Kube = nil
	e.Enrich(&l)
	if l.Kube != first {
		t.Error("file name parsed twice")
	}
	other := logline.Line{Source: "/var/log/syslog"}
	e.Enrich(&other)
	if other.Kube != nil {
		t.Errorf("Kube = %+v for a plain file", other.Kube)
	}
}

func BenchmarkEnrichCached(b *testing.B) {
	e := &Enricher{}
	l := logline.Line{Source: "/var/log/containers/web-7d4b9c6f5-x2x9k_shop_nginx-3f5a0e9c1d7b4a2e8c6f0b1d9e7a5c3b2f4d6e8a0c1b3d5f7e9a2c4b6d8f0e1a.log"}
	b.ReportAllocs()
	for b.Loop() {
		l.Kube = nil
		e.Enrich(&l)
	}
}

// Without the API server, the UID comes from the directory the
// /var/log/containers/ symlink points into.
func TestEnricherTakesTheUIDFromTheSymlinkTarget(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(root, "pods", "shop_web-1_uid-777", "nginx", "0.log")
	link := filepath.Join(root, "containers", "web-1_shop_nginx-0123456789abcdef.log")
	for _, d := range []string{filepath.Dir(target), filepath.Dir(link)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	e := &Enricher{Node: "node-1"}
	l := &logline.Line{Source: link}
	e.Enrich(l)
	if l.Kube == nil || l.Kube.PodUID != "uid-777" || l.Kube.Pod != "web-1" || l.Kube.Namespace != "shop" || l.Kube.Container != "nginx" {
		t.Errorf("Kube = %+v, want pod web-1 in shop, container nginx, UID uid-777", l.Kube)
	}
}
