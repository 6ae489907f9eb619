package metrics

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// seriesLabels returns the label values of series i of seriesMemory: three
// labels whose combinations are distinct for every i, with sizes typical of
// an access log (method, status, path).
func seriesLabels(dst [][]byte, i int) [][]byte {
	dst[0] = append(dst[0][:0], []string{"GET", "POST", "PUT", "DELETE"}[i%4]...)
	dst[1] = strconv.AppendInt(dst[1][:0], int64(200+(i/4)%10), 10)
	dst[2] = fmt.Appendf(dst[2][:0], "/api/v1/items/%d", i/40)
	return dst
}

// seriesMemory returns the live heap bytes one series of a family of the
// given options costs, measured over n series.
func seriesMemory(tb testing.TB, opts FamilyOpts, n int) float64 {
	tb.Helper()
	labels := make([][]byte, 3)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := NewFamily(opts, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		labels = seriesLabels(labels, i)
		switch opts.Kind {
		case Counter, Gauge:
			err = f.Add(labels, float64(i%7), t0)
		default:
			err = f.Observe(labels, float64(i%7)/10, t0)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if f.Len() != n {
		tb.Fatalf("family holds %d series, want %d", f.Len(), n)
	}
	runtime.KeepAlive(f)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// BenchmarkSeriesMemory reports the live heap a series costs (bytes/series),
// for 10,000 series with three labels of each kind.
func BenchmarkSeriesMemory(b *testing.B) {
	labels := []string{"method", "status", "path"}
	cases := []struct {
		name string
		opts FamilyOpts
	}{
		{"counter", FamilyOpts{Kind: Counter}},
		{"gauge", FamilyOpts{Kind: Gauge}},
		{"histogram", FamilyOpts{Kind: Histogram}}, // DefBuckets: 11 classic buckets
		{"native_histogram", FamilyOpts{Kind: Histogram, Native: true}},
		{"summary", FamilyOpts{Kind: Summary}},
	}
	const n = 10000
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			c.opts.Name, c.opts.Help, c.opts.LabelNames = "m", "M.", labels
			var total float64
			runs := 0
			for b.Loop() {
				total += seriesMemory(b, c.opts, n)
				runs++
			}
			b.ReportMetric(total/float64(runs), "bytes/series")
		})
	}
}

// BenchmarkFamilyGather measures a scrape of 10,000 counter series: the
// time and garbage a Gather of the family costs.
func BenchmarkFamilyGather(b *testing.B) {
	f, err := NewFamily(FamilyOpts{Name: "m_total", Help: "M.", Kind: Counter, LabelNames: []string{"method", "status", "path"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	labels := make([][]byte, 3)
	for i := range 10000 {
		mustNil(b, f.Add(seriesLabels(labels, i), 1, t0))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(f)
	b.ReportAllocs()
	for b.Loop() {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		if n := len(mfs[0].GetMetric()); n != 10000 {
			b.Fatalf("gathered %d series", n)
		}
	}
}
