package tail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logmeter/logmeter/pkg/logline"
)

// BenchmarkTailerRead measures reading, splitting and decoding one file
// through Scan and Poll, with a handler that does nothing: the cost of the
// tailing stage per line.
func BenchmarkTailerRead(b *testing.B) {
	for _, c := range []struct {
		name   string
		format Format
		line   string
	}{
		{"plain", FormatPlain, `203.0.113.45 - - [01/May/2024:12:00:00 +0000] "GET /api/v1/products?page=2 HTTP/1.1" 200 5123 "-" "Mozilla/5.0" 0.042`},
		{"cri", FormatCRI, `2024-05-01T12:00:00.123456789Z stdout F 203.0.113.45 - - [01/May/2024:12:00:00 +0000] "GET /api HTTP/1.1" 200 5123 "-" "curl" 0.042`},
	} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			const n = 100000
			data := strings.Repeat(c.line+"\n", n)
			path := filepath.Join(dir, "a.log")
			if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			lines := 0
			for b.Loop() {
				tl, err := New(Options{Inputs: []Input{{Name: "in", Paths: []string{path}, Format: c.format, StartAt: StartAtBeginning}},
					Clock: time.Now}, func(*logline.Line) { lines++ })
				if err != nil {
					b.Fatal(err)
				}
				tl.Scan()
				for tl.Poll() {
				}
				tl.Close()
			}
			if lines != n*b.N {
				b.Fatalf("read %d lines, want %d", lines, n*b.N)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
		})
	}
}
