package metrics

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func lv(vals ...string) [][]byte {
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out
}

// newTestSelf returns self-metrics on their own pedantic registry.
func newTestSelf(t testing.TB) (*Self, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	self, err := NewSelf(reg, "test", "abc")
	if err != nil {
		t.Fatal(err)
	}
	return self, reg
}

func TestFamilyKinds(t *testing.T) {
	type op struct {
		do     string // add, set, observe
		labels []string
		v      float64
	}
	tests := []struct {
		name string
		opts FamilyOpts
		ops  []op
		want string
	}{
		{
			name: "counter",
			opts: FamilyOpts{Name: "req_total", Help: "Requests.", Kind: Counter, LabelNames: []string{"method", "status"}},
			ops:  []op{{"add", []string{"GET", "200"}, 1}, {"add", []string{"GET", "200"}, 2.5}, {"add", []string{"POST", "500"}, 1}},
			want: `# HELP req_total Requests.
# TYPE req_total counter
req_total{method="GET",status="200"} 3.5
req_total{method="POST",status="500"} 1
`,
		},
		{
			name: "gauge set and add",
			opts: FamilyOpts{Name: "temp", Help: "Temperature.", Kind: Gauge, LabelNames: []string{"room"}},
			ops:  []op{{"set", []string{"a"}, 20}, {"add", []string{"a"}, -1.5}, {"add", []string{"b"}, 3}},
			want: `# HELP temp Temperature.
# TYPE temp gauge
temp{room="a"} 18.5
temp{room="b"} 3
`,
		},
		{
			name: "histogram",
			opts: FamilyOpts{Name: "dur_seconds", Help: "Duration.", Kind: Histogram, LabelNames: []string{"m"}, Buckets: []float64{0.1, 1}},
			ops:  []op{{"observe", []string{"x"}, 0.05}, {"observe", []string{"x"}, 0.5}, {"observe", []string{"x"}, 7}},
			want: `# HELP dur_seconds Duration.
# TYPE dur_seconds histogram
dur_seconds_bucket{m="x",le="0.1"} 1
dur_seconds_bucket{m="x",le="1"} 2
dur_seconds_bucket{m="x",le="+Inf"} 3
dur_seconds_sum{m="x"} 7.55
dur_seconds_count{m="x"} 3
`,
		},
		{
			name: "summary",
			opts: FamilyOpts{Name: "size_bytes", Help: "Size.", Kind: Summary, Objectives: map[float64]float64{0.5: 0.05}},
			ops:  []op{{"observe", nil, 1}, {"observe", nil, 2}, {"observe", nil, 3}},
			want: `# HELP size_bytes Size.
# TYPE size_bytes summary
size_bytes{quantile="0.5"} 2
size_bytes_sum 6
size_bytes_count 3
`,
		},
		{
			name: "summary without quantiles",
			opts: FamilyOpts{Name: "size_bytes", Help: "Size.", Kind: Summary, Objectives: map[float64]float64{}},
			ops:  []op{{"observe", nil, 4}},
			want: `# HELP size_bytes Size.
# TYPE size_bytes summary
size_bytes_sum 4
size_bytes_count 1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			self, _ := newTestSelf(t)
			f, err := NewFamily(tt.opts, self)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tt.ops {
				var err error
				switch o.do {
				case "add":
					err = f.Add(lv(o.labels...), o.v, t0)
				case "set":
					err = f.Set(lv(o.labels...), o.v, t0)
				case "observe":
					err = f.Observe(lv(o.labels...), o.v, t0)
				}
				if err != nil {
					t.Fatalf("%s %v: %v", o.do, o.labels, err)
				}
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(f)
			if err := testutil.GatherAndCompare(reg, strings.NewReader(tt.want)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestFamilyRejects(t *testing.T) {
	counter := FamilyOpts{Name: "c_total", Kind: Counter, LabelNames: []string{"a"}}
	gauge := FamilyOpts{Name: "g", Kind: Gauge, LabelNames: []string{"a"}}
	hist := FamilyOpts{Name: "h", Kind: Histogram, LabelNames: []string{"a"}}
	nan := math.NaN()
	tests := []struct {
		name      string
		opts      FamilyOpts
		call      func(f *Family) error
		invalid   bool // want ErrInvalidValue, counted in value errors
		errSubstr string
	}{
		{"negative counter", counter, func(f *Family) error { return f.Add(lv("x"), -1, t0) }, true, "invalid value -1"},
		{"NaN counter", counter, func(f *Family) error { return f.Add(lv("x"), nan, t0) }, true, "NaN"},
		{"Inf gauge", gauge, func(f *Family) error { return f.Set(lv("x"), math.Inf(1), t0) }, true, "+Inf"},
		{"NaN observe", hist, func(f *Family) error { return f.Observe(lv("x"), nan, t0) }, true, "NaN"},
		{"set on counter", counter, func(f *Family) error { return f.Set(lv("x"), 1, t0) }, false, "Set is not defined for a counter"},
		{"observe on gauge", gauge, func(f *Family) error { return f.Observe(lv("x"), 1, t0) }, false, "Observe is not defined for a gauge"},
		{"add on histogram", hist, func(f *Family) error { return f.Add(lv("x"), 1, t0) }, false, "Add is not defined"},
		{"label count", counter, func(f *Family) error { return f.Add(lv("x", "y"), 1, t0) }, false, "got 2 label values for 1 labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			self, _ := newTestSelf(t)
			f, err := NewFamily(tt.opts, self)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.call(f)
			if err == nil || !strings.Contains(err.Error(), tt.errSubstr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.errSubstr)
			}
			if got := errors.Is(err, ErrInvalidValue); got != tt.invalid {
				t.Errorf("errors.Is(err, ErrInvalidValue) = %v, want %v", got, tt.invalid)
			}
			wantCount := 0.0
			if tt.invalid {
				wantCount = 1
			}
			if got := testutil.ToFloat64(self.ValueErrors.WithLabelValues(tt.opts.Name)); got != wantCount {
				t.Errorf("value errors = %v, want %v", got, wantCount)
			}
			if f.Len() != 0 {
				t.Errorf("Len = %d after a rejected update", f.Len())
			}
		})
	}
}

func TestNewFamilyValidation(t *testing.T) {
	tests := []struct {
		name string
		opts FamilyOpts
		want string // error substring; "" means valid
	}{
		{"ok", FamilyOpts{Name: "a_total", Kind: Counter, LabelNames: []string{"x"}}, ""},
		{"no kind", FamilyOpts{Name: "a"}, "invalid type"},
		{"bad name", FamilyOpts{Name: "a-b", Kind: Gauge}, "not a valid Prometheus metric name"},
		{"bad label", FamilyOpts{Name: "a", Kind: Gauge, LabelNames: []string{"1x"}}, `label name "1x"`},
		{"reserved label", FamilyOpts{Name: "a", Kind: Gauge, LabelNames: []string{"__x"}}, `label name "__x"`},
		{"duplicate label", FamilyOpts{Name: "a", Kind: Gauge, LabelNames: []string{"x", "x"}}, "given twice"},
		{"le on histogram", FamilyOpts{Name: "a", Kind: Histogram, LabelNames: []string{"le"}}, "reserved"},
		{"le on gauge", FamilyOpts{Name: "a", Kind: Gauge, LabelNames: []string{"le"}}, ""},
		{"quantile on summary", FamilyOpts{Name: "a", Kind: Summary, LabelNames: []string{"quantile"}}, "reserved"},
		{"unsorted buckets", FamilyOpts{Name: "a", Kind: Histogram, Buckets: []float64{1, 0.5}}, "increasing"},
		{"bad factor", FamilyOpts{Name: "a", Kind: Histogram, Native: true, NativeBucketFactor: 0.9}, "greater than 1"},
		{"bad objective", FamilyOpts{Name: "a", Kind: Summary, Objectives: map[float64]float64{1.5: 0.1}}, "between 0 and 1"},
		{"negative max series", FamilyOpts{Name: "a", Kind: Gauge, MaxSeries: -1}, "max_series"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFamily(tt.opts, nil)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFamilyDefaults(t *testing.T) {
	tests := []struct {
		name        string
		opts        FamilyOpts
		wantBuckets int
		wantNative  bool
		wantObj     int
	}{
		{"classic default", FamilyOpts{Kind: Histogram}, len(prometheus.DefBuckets), false, 0},
		{"native only", FamilyOpts{Kind: Histogram, Native: true}, 0, true, 0},
		{"native and classic", FamilyOpts{Kind: Histogram, Native: true, Classic: true}, len(prometheus.DefBuckets), true, 0},
		{"native with buckets", FamilyOpts{Kind: Histogram, Native: true, Buckets: []float64{1, 2}}, 2, true, 0},
		{"summary default", FamilyOpts{Kind: Summary}, 0, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Name = "h"
			f, err := NewFamily(tt.opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Observe(nil, 0.3, t0); err != nil {
				t.Fatal(err)
			}
			got := f.Opts()
			if len(got.Buckets) != tt.wantBuckets || len(got.Objectives) != tt.wantObj {
				t.Errorf("opts = %+v", got)
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(f)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			if tt.opts.Kind != Histogram {
				return
			}
			h := mfs[0].GetMetric()[0].GetHistogram()
			if n := len(h.GetBucket()); n != tt.wantBuckets {
				t.Errorf("classic buckets = %d, want %d", n, tt.wantBuckets)
			}
			if native := h.Schema != nil; native != tt.wantNative {
				t.Errorf("native = %v, want %v", native, tt.wantNative)
			}
		})
	}
}

func TestFamilyMaxSeries(t *testing.T) {
	self, selfReg := newTestSelf(t)
	f, err := NewFamily(FamilyOpts{Name: "c_total", Kind: Counter, LabelNames: []string{"a"}, MaxSeries: 2}, self)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		label   string
		wantErr error
	}{{"x", nil}, {"y", nil}, {"z", ErrSeriesLimit}, {"x", nil}, {"w", ErrSeriesLimit}} {
		if err := f.Add(lv(tc.label), 1, t0); !errors.Is(err, tc.wantErr) {
			t.Errorf("step %d (%s): error = %v, want %v", i, tc.label, err, tc.wantErr)
		}
	}
	if f.Len() != 2 {
		t.Errorf("Len = %d, want 2", f.Len())
	}
	want := `# HELP logmeter_series Label sets a rule metric currently holds.
# TYPE logmeter_series gauge
logmeter_series{metric="c_total"} 2
# HELP logmeter_series_dropped_total New label sets refused because the metric reached max_series.
# TYPE logmeter_series_dropped_total counter
logmeter_series_dropped_total{metric="c_total"} 2
`
	if err := testutil.GatherAndCompare(selfReg, strings.NewReader(want), "logmeter_series", "logmeter_series_dropped_total"); err != nil {
		t.Error(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(f)
	want = `# HELP c_total 
# TYPE c_total counter
c_total{a="x"} 2
c_total{a="y"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestFamilyExpire(t *testing.T) {
	tests := []struct {
		name        string
		expire      time.Duration
		at          time.Duration // Expire is called at t0+at
		wantDeleted int
		want        string
	}{
		{"never", 0, 24 * time.Hour, 0, "g{a=\"old\"} 1\ng{a=\"new\"} 2\n"},
		{"old only", 10 * time.Minute, 12 * time.Minute, 1, "g{a=\"new\"} 2\n"},
		{"boundary kept", 10 * time.Minute, 10 * time.Minute, 0, "g{a=\"old\"} 1\ng{a=\"new\"} 2\n"},
		{"all", 10 * time.Minute, 20 * time.Minute, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			self, _ := newTestSelf(t)
			f, err := NewFamily(FamilyOpts{Name: "g", Help: "G.", Kind: Gauge, LabelNames: []string{"a"}, Expire: tt.expire}, self)
			if err != nil {
				t.Fatal(err)
			}
			mustNil(t, f.Set(lv("old"), 1, t0))
			mustNil(t, f.Set(lv("new"), 2, t0))
			mustNil(t, f.Set(lv("new"), 2, t0.Add(5*time.Minute))) // a refresh keeps it alive
			if n := f.Expire(t0.Add(tt.at)); n != tt.wantDeleted {
				t.Errorf("Expire deleted %d, want %d", n, tt.wantDeleted)
			}
			if f.Len() != 2-tt.wantDeleted {
				t.Errorf("Len = %d", f.Len())
			}
			if got := testutil.ToFloat64(self.Series.WithLabelValues("g")); got != float64(2-tt.wantDeleted) {
				t.Errorf("logmeter_series = %v", got)
			}
			want := ""
			if tt.want != "" {
				want = "# HELP g G.\n# TYPE g gauge\n" + tt.want
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(f)
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
				t.Error(err)
			}
			// An expired label set comes back from zero.
			mustNil(t, f.Add(lv("old"), 5, t0.Add(tt.at)))
			if got := seriesValue(t, f, "old"); tt.wantDeleted > 0 && got != 5 {
				t.Errorf("revived series = %v, want 5", got)
			}
		})
	}
}

// seriesValue returns the value of a counter's or gauge's series.
func seriesValue(t *testing.T, f *Family, values ...string) float64 {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.series[string(appendKeyStrings(nil, values))]
	if s == nil {
		t.Fatalf("no series %q", values)
	}
	return s.value
}

func mustNil(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestFamilyLabelBytes(t *testing.T) {
	tests := []struct {
		name    string
		updates [][]string
		wantLen int
		want    string
	}{
		{
			name:    "separator bytes cannot collide",
			updates: [][]string{{"a\xff", "b"}, {"a", "\xffb"}},
			wantLen: 2,
			want: "c_total{x=\"a\",y=\"\ufffdb\"} 1\n" +
				"c_total{x=\"a\ufffd\",y=\"b\"} 1\n",
		},
		{
			name:    "invalid UTF-8 repaired into one series",
			updates: [][]string{{"a\xff", "b"}, {"a\xfe", "b"}, {"a\ufffd", "b"}, {"a\xff", "b"}},
			wantLen: 1,
			want:    "c_total{x=\"a\ufffd\",y=\"b\"} 4\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFamily(FamilyOpts{Name: "c_total", Help: "C.", Kind: Counter, LabelNames: []string{"x", "y"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range tt.updates {
				mustNil(t, f.Add(lv(u...), 1, t0))
			}
			if f.Len() != tt.wantLen {
				t.Errorf("Len = %d, want %d", f.Len(), tt.wantLen)
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(f)
			if err := testutil.GatherAndCompare(reg, strings.NewReader("# HELP c_total C.\n# TYPE c_total counter\n"+tt.want)); err != nil {
				t.Error(err)
			}
		})
	}
}

// The label value buffer may be reused by the caller after the call.
func TestFamilyCopiesLabelValues(t *testing.T) {
	f, err := NewFamily(FamilyOpts{Name: "c_total", Help: "C.", Kind: Counter, LabelNames: []string{"x"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("abc")
	mustNil(t, f.Add([][]byte{buf}, 1, t0))
	copy(buf, "xyz")
	mustNil(t, f.Add([][]byte{buf}, 1, t0))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(f)
	want := "# HELP c_total C.\n# TYPE c_total counter\nc_total{x=\"abc\"} 1\nc_total{x=\"xyz\"} 1\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestFamilyHotPathAllocs(t *testing.T) {
	self, _ := newTestSelf(t)
	mk := func(k Kind) *Family {
		f, err := NewFamily(FamilyOpts{Name: "m", Kind: k, LabelNames: []string{"a", "b"}, Native: k == Histogram}, self)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	labels := lv("GET", "200")
	tests := []struct {
		name string
		call func() error
	}{
		{"counter add", func() func() error { f := mk(Counter); return func() error { return f.Add(labels, 1, t0) } }()},
		{"gauge set", func() func() error { f := mk(Gauge); return func() error { return f.Set(labels, 2, t0) } }()},
		{"histogram observe", func() func() error { f := mk(Histogram); return func() error { return f.Observe(labels, 0.25, t0) } }()},
		{"summary observe", func() func() error { f := mk(Summary); return func() error { return f.Observe(labels, 0.25, t0) } }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustNil(t, tt.call()) // creates the series
			if n := testing.AllocsPerRun(1000, func() { _ = tt.call() }); n != 0 {
				t.Errorf("%v allocs per update of an existing series, want 0", n)
			}
		})
	}
}

func BenchmarkFamilyAddExisting(b *testing.B) {
	f, err := NewFamily(FamilyOpts{Name: "req_total", Kind: Counter, LabelNames: []string{"method", "status", "namespace"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	labels := lv("GET", "200", "shop-frontend")
	mustNil(b, f.Add(labels, 1, t0))
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Add(labels, 1, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	for _, native := range []bool{false, true} {
		name := "classic"
		if native {
			name = "native"
		}
		b.Run(name, func(b *testing.B) {
			f, err := NewFamily(FamilyOpts{Name: "dur_seconds", Kind: Histogram, LabelNames: []string{"method"}, Native: native}, nil)
			if err != nil {
				b.Fatal(err)
			}
			labels := lv("GET")
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if err := f.Observe(labels, float64(i%1000)/1000, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Run with -race: updates, expiry, collection and reload may overlap.
func TestFamilyConcurrent(t *testing.T) {
	r := NewRegistry(nil)
	f, err := r.Family(FamilyOpts{Name: "c_total", Kind: Counter, LabelNames: []string{"a"}, Expire: time.Nanosecond})
	mustNil(t, err)
	mustNil(t, r.Swap([]*Family{f}))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			labels := lv("x")
			for i := 0; i < 500; i++ {
				labels[0][0] = byte('a' + i%3)
				_ = f.Add(labels, 1, t0.Add(time.Duration(i)))
				switch i % 50 {
				case 0:
					r.Expire(t0.Add(time.Duration(i)))
				case 25:
					if _, err := reg.Gather(); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestFamilyExposesLikeClientGolang: counters and gauges, kept by the family
// itself, gather to what client_golang's vectors fed the same updates
// gather to: label order, values, and a counter's created timestamp.
func TestFamilyExposesLikeClientGolang(t *testing.T) {
	type update struct {
		labels []string
		v      float64
		set    bool
	}
	tests := []struct {
		name    string
		kind    Kind
		labels  []string // deliberately not in name order
		updates []update
	}{
		{"counter", Counter, []string{"status", "method"}, []update{{[]string{"200", "GET"}, 1, false}, {[]string{"500", "POST"}, 2.5, false}, {[]string{"200", "GET"}, 0.25, false}}},
		{"counter without labels", Counter, nil, nil},
		{"counter without labels, added", Counter, nil, []update{{nil, 3, false}}},
		{"gauge", Gauge, []string{"zone", "app"}, []update{{[]string{"b", "x"}, 4, true}, {[]string{"b", "x"}, -1.5, false}, {[]string{"a", "y"}, -2, false}}},
		{"gauge without labels", Gauge, nil, []update{{nil, 7, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now()
			f, err := NewFamily(FamilyOpts{Name: "m", Help: "M.", Kind: tt.kind, LabelNames: tt.labels}, nil)
			mustNil(t, err)
			var ref prometheus.Collector
			var refAdd func(lvs []string, v float64)
			var refSet func(lvs []string, v float64)
			if tt.kind == Counter {
				v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "m", Help: "M."}, tt.labels)
				if len(tt.labels) == 0 {
					v.WithLabelValues() // exposed from the start
				}
				ref, refAdd = v, func(lvs []string, x float64) { v.WithLabelValues(lvs...).Add(x) }
			} else {
				v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "m", Help: "M."}, tt.labels)
				ref = v
				refAdd = func(lvs []string, x float64) { v.WithLabelValues(lvs...).Add(x) }
				refSet = func(lvs []string, x float64) { v.WithLabelValues(lvs...).Set(x) }
			}
			for _, u := range tt.updates {
				if u.set {
					mustNil(t, f.Set(lv(u.labels...), u.v, t0))
					refSet(u.labels, u.v)
				} else {
					mustNil(t, f.Add(lv(u.labels...), u.v, t0))
					refAdd(u.labels, u.v)
				}
			}
			after := time.Now()
			got, want := gatherFrom(t, f), gatherFrom(t, ref)
			for _, m := range got.GetMetric() {
				if c := m.GetCounter(); c != nil {
					ct := c.GetCreatedTimestamp().AsTime()
					if c.CreatedTimestamp == nil || ct.Before(before) || ct.After(after) {
						t.Errorf("created timestamp %v, want one between %v and %v", ct, before, after)
					}
					c.CreatedTimestamp = nil
				}
			}
			for _, m := range want.GetMetric() {
				if c := m.GetCounter(); c != nil {
					c.CreatedTimestamp = nil
				}
			}
			if !proto.Equal(got, want) {
				t.Errorf("gathered\n%v\nwant\n%v", got, want)
			}
		})
	}
}

// gatherFrom gathers metric m from c on a pedantic registry.
func gatherFrom(t *testing.T, c prometheus.Collector) *dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	return gatherOne(t, reg, "m")
}
