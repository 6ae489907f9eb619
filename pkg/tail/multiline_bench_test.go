package tail

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/logmeter/logmeter/pkg/logline"
)

// javaRecord is one Java exception: a header line and 20 frames.
func javaRecord() [][]byte {
	lines := [][]byte{[]byte(`2024-05-01 12:00:00,123 ERROR [http-nio-8080-exec-7] c.e.shop.OrderController: checkout failed: java.lang.IllegalStateException: cart is empty`)}
	for i := range 20 {
		lines = append(lines, fmt.Appendf(nil, "\tat com.example.shop.service.OrderService.step%02d(OrderService.java:%d)", i, 100+i))
	}
	return lines
}

func benchMultiline(b *testing.B, cfg MultilineConfig, stream string) {
	rec := javaRecord()
	size := 0
	for _, l := range rec {
		size += len(l)
	}
	m := NewMultiline(cfg)
	in := logline.Line{Stream: stream, Source: "app.log", Input: "apps"}
	var out logline.Line
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	records := 0
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range rec {
			in.Text = l
			if done, _ := m.Add(&in, now, &out); done {
				records++
			}
			in.Offset += int64(len(l)) + 1
		}
	}
	if records > 0 && len(out.Text) != size+len(rec)-1 {
		b.Fatalf("record of %d bytes, want %d", len(out.Text), size+len(rec)-1)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rec)), "ns/line")
}

// BenchmarkMultilineJavaStart joins Java stack traces with Start: ^\S. One
// op is one record of 21 lines.
func BenchmarkMultilineJavaStart(b *testing.B) {
	benchMultiline(b, MultilineConfig{Start: regexp.MustCompile(`^\S`)}, "")
}

// BenchmarkMultilineJavaContinue joins them with Continue: ^\s.
func BenchmarkMultilineJavaContinue(b *testing.B) {
	benchMultiline(b, MultilineConfig{Continue: regexp.MustCompile(`^\s`)}, "stdout")
}

// BenchmarkMultilineJavaDate starts records at a timestamp, as Python and
// most application logs need.
func BenchmarkMultilineJavaDate(b *testing.B) {
	benchMultiline(b, MultilineConfig{Start: regexp.MustCompile(`^\d{4}-\d{2}-\d{2} `)}, "stderr")
}
