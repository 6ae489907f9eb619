package match

import (
	"regexp"
	"testing"
)

var benchLine = []byte(`203.0.113.45 - - [01/May/2024:12:00:00 +0000] "GET /api/v1/products?page=2 HTTP/1.1" 200 5123 "https://shop.example.com/" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36" 0.042`)

func BenchmarkMatchNginx(b *testing.B) {
	p, err := compileExpanded(diffPatterns[0], goExpanded(b, diffPatterns[0]))
	if err != nil {
		b.Fatal(err)
	}
	m := p.NewMatcher()
	caps := make([]int, 2*len(p.Fields()))
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	for b.Loop() {
		if !m.Match(benchLine, caps) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkGoRegexpNginx(b *testing.B) {
	re := regexp.MustCompile(diffPatterns[0])
	b.ReportAllocs()
	for b.Loop() {
		if re.FindSubmatchIndex(benchLine) == nil {
			b.Fatal("no match")
		}
	}
}

const nginxTimed = `%{IPORHOST:client} %{USER:ident} %{USER:auth} \[%{HTTPDATE:timestamp}\] "%{WORD:method} %{NOTSPACE:path} HTTP/%{NUMBER:httpversion}" %{INT:status} %{INT:bytes} "%{DATA:referrer}" "%{DATA:agent}" %{NUMBER:request_time}`

func BenchmarkMatchGrokNginx(b *testing.B) {
	p, err := NewLibrary().Compile(nginxTimed)
	if err != nil {
		b.Fatal(err)
	}
	m := p.NewMatcher()
	caps := make([]int, 2*len(p.Fields()))
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	for b.Loop() {
		if !m.Match(benchLine, caps) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkMatchGrokNginxFallback is the same match on the exact fallback
// alone (backtracker over the whole expanded expression), to show what the
// segment/DFA fast path buys.
func BenchmarkMatchGrokNginxFallback(b *testing.B) {
	p, err := NewLibrary().Compile(nginxTimed)
	if err != nil {
		b.Fatal(err)
	}
	m := p.NewMatcher()
	caps := make([]int, 2*len(p.Fields()))
	m.line, m.caps = benchLine, caps
	b.ReportAllocs()
	for b.Loop() {
		if !m.slow() {
			b.Fatal("no match")
		}
	}
}
