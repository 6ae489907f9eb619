package metrics

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestDistRestore: a histogram (classic and native buckets) or summary
// saved, restored into a new family and fed the rest of the values exposes
// what one family fed every value exposes.
func TestDistRestore(t *testing.T) {
	cases := []struct {
		name string
		opts FamilyOpts
	}{
		{"classic", FamilyOpts{Kind: Histogram, Buckets: []float64{0.01, 0.1, 1, 10}}},
		{"native", FamilyOpts{Kind: Histogram, Native: true, NativeBucketFactor: 1.1, NativeMaxBuckets: 160}},
		{"native and classic", FamilyOpts{Kind: Histogram, Native: true, NativeBucketFactor: 1.5, Classic: true, Buckets: []float64{0.5, 2}}},
		{"coarse native", FamilyOpts{Kind: Histogram, Native: true, NativeBucketFactor: 1.1, NativeMaxBuckets: 12}},
		{"summary", FamilyOpts{Kind: Summary, Objectives: map[float64]float64{0.5: 0.05}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Name, c.opts.Help, c.opts.LabelNames = "d", "h", []string{"k"}
			rng := rand.New(rand.NewPCG(1, 2))
			values := make([]float64, 2000)
			for i := range values {
				values[i] = math.Exp(rng.NormFloat64()) - 0.2 // some negative, some near zero
			}
			values[7] = 0
			now := time.Unix(1700000000, 0)
			feed := func(f *Family, vs []float64) {
				for i, v := range vs {
					if err := f.Observe([][]byte{[]byte([]string{"a", "b"}[i%2])}, v, now); err != nil {
						t.Fatal(err)
					}
				}
			}
			newFam := func() *Family {
				f, err := NewFamily(c.opts, nil)
				if err != nil {
					t.Fatal(err)
				}
				return f
			}
			all := newFam()
			feed(all, values)

			first := newFam()
			feed(first, values[:1200])
			saved, err := json.Marshal(first.snapshot())
			if err != nil {
				t.Fatal(err)
			}
			var states []SeriesState
			if err := json.Unmarshal(saved, &states); err != nil {
				t.Fatal(err)
			}
			second := newFam()
			for _, s := range states {
				if err := second.restore(s); err != nil {
					t.Fatal(err)
				}
			}
			feed(second, values[1200:])

			// A second restart, from the merged state.
			third := newFam()
			for _, s := range second.snapshot() {
				if err := third.restore(s); err != nil {
					t.Fatal(err)
				}
			}
			for name, f := range map[string]*Family{"restored": second, "restored twice": third} {
				got, want := collected(t, f), collected(t, all)
				for k, w := range want {
					if c.opts.Kind == Summary {
						// Quantiles cover what was seen since the start.
						w.Summary.Quantile, got[k].Summary.Quantile = nil, nil
					}
					if g := got[k]; !sameDist(g, w) {
						t.Errorf("%s: series %s:\n got %v\nwant %v", name, k, g, w)
					}
				}
			}
		})
	}
}

func collected(t *testing.T, f *Family) map[string]*dto.Metric {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	go func() { f.Collect(ch); close(ch) }()
	out := map[string]*dto.Metric{}
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		key := ""
		if len(d.GetLabel()) > 0 {
			key = d.GetLabel()[0].GetValue()
		}
		out[key] = &d
	}
	return out
}

// sameDist compares counts exactly and sums to rounding.
func sameDist(a, b *dto.Metric) bool {
	if a == nil || b == nil {
		return false
	}
	if sa, sb := a.GetSummary(), b.GetSummary(); sa != nil || sb != nil {
		return sa.GetSampleCount() == sb.GetSampleCount() && math.Abs(sa.GetSampleSum()-sb.GetSampleSum()) < 1e-9
	}
	ha, hb := a.GetHistogram(), b.GetHistogram()
	if ha.GetSampleCount() != hb.GetSampleCount() || math.Abs(ha.GetSampleSum()-hb.GetSampleSum()) > 1e-9 ||
		len(ha.GetBucket()) != len(hb.GetBucket()) {
		return false
	}
	for i := range ha.GetBucket() {
		if ha.GetBucket()[i].GetCumulativeCount() != hb.GetBucket()[i].GetCumulativeCount() {
			return false
		}
	}
	if (ha.Schema == nil) != (hb.Schema == nil) {
		return false
	}
	if ha.Schema == nil {
		return true
	}
	schema := min(ha.GetSchema(), hb.GetSchema())
	eq := func(x, y map[int32]uint64) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if y[k] != v {
				return false
			}
		}
		return true
	}
	da, db := distOf(a), distOf(b)
	return da.ZeroCount == db.ZeroCount &&
		eq(reduceTo(da.Positive, da.Schema, schema), reduceTo(db.Positive, db.Schema, schema)) &&
		eq(reduceTo(da.Negative, da.Schema, schema), reduceTo(db.Negative, db.Schema, schema))
}

func TestNativeBucketCoding(t *testing.T) {
	counts := map[int32]uint64{-5: 1, -4: 3, 0: 2, 1: 7, 9: 1}
	spans, deltas := encodeBuckets(counts)
	back := decodeBuckets(spans, deltas)
	if len(back) != len(counts) {
		t.Fatalf("decoded %v, want %v", back, counts)
	}
	for k, v := range counts {
		if back[k] != v {
			t.Fatalf("decoded %v, want %v", back, counts)
		}
	}
	// One step coarser: (idx+1)>>1.
	got := reduceTo(counts, 3, 2)
	want := map[int32]uint64{-2: 4, 0: 2, 1: 7, 5: 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("reduceTo = %v, want %v", got, want)
			break
		}
	}
}

// TestDistBaseSurvivesConcurrentScrapes: scrapes racing with observations
// never drop a restored base (only a real reset does).
func TestDistBaseSurvivesConcurrentScrapes(t *testing.T) {
	opts := FamilyOpts{Name: "d", Help: "h", Kind: Histogram, Native: true, NativeBucketFactor: 1.1, NativeMaxBuckets: 160}
	f, err := NewFamily(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.restore(SeriesState{Dist: &DistState{Count: 1000, Sum: 500, Native: true, Schema: 3, Positive: map[int32]uint64{1: 1000}}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var scrapers sync.WaitGroup
	for range 2 {
		scrapers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
					collected(t, f)
				}
			}
		})
	}
	now := time.Unix(1700000000, 0)
	for i := range 2000 {
		if err := f.Observe(nil, float64(i%7)+0.5, now); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	scrapers.Wait()
	got := collected(t, f)[""]
	if c := got.GetHistogram().GetSampleCount(); c != 3000 {
		t.Errorf("count = %d after concurrent scrapes, want 3000 (1000 restored + 2000)", c)
	}
}

// TestStateSurvivesNonFiniteValues: a histogram sum that overflowed to +Inf
// is saved and restored instead of making the whole state unencodable.
func TestStateSurvivesNonFiniteValues(t *testing.T) {
	opts := FamilyOpts{Name: "d", Help: "h", Kind: Histogram, Buckets: []float64{1}}
	f, err := NewFamily(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	for range 2 {
		if err := f.Observe(nil, 1.7e308, now); err != nil {
			t.Fatal(err)
		}
	}
	data, err := json.Marshal(f.snapshot())
	if err != nil {
		t.Fatalf("encoding a +Inf sum: %v", err)
	}
	var states []SeriesState
	if err := json.Unmarshal(data, &states); err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[0].Dist == nil || !math.IsInf(float64(states[0].Dist.Sum), 1) || states[0].Dist.Count != 2 {
		t.Errorf("restored %s as %+v", data, states)
	}
	for _, v := range []float64{math.NaN(), math.Inf(-1), 0.1, -3} {
		data, _ := json.Marshal(Float(v))
		var back Float
		if err := json.Unmarshal(data, &back); err != nil || (float64(back) != v && !math.IsNaN(v)) || (math.IsNaN(v) != math.IsNaN(float64(back))) {
			t.Errorf("Float %v -> %s -> %v (%v)", v, data, back, err)
		}
	}
}
