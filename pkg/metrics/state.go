package metrics

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// State is what survives a restart: the values of counters and gauges,
// the distributions of histograms, the counts and sums of summaries, and
// each series' last update, saved in the same atomic write as the read
// positions, so that after any crash a counter equals the count over all
// lines ever read and Prometheus' rate() sees no reset. Summary quantiles
// (a sliding window of recent values) start afresh.
type State struct {
	Rules []FamilyState `json:"rules,omitempty"`
	Self  []SelfSample  `json:"self,omitempty"`
	Saved time.Time     `json:"saved"`
}

// FamilyState is one rule metric. Signature changes when the metric's
// meaning does (see signature); a saved family whose signature differs
// from the running one's is not restored.
type FamilyState struct {
	Name      string        `json:"name"`
	Signature string        `json:"signature"`
	Series    []SeriesState `json:"series"`
}

// SeriesState is one label set: values in the family's label order.
type SeriesState struct {
	Labels []string   `json:"labels"`
	Value  Float      `json:"value"`
	Dist   *DistState `json:"dist,omitempty"` // histograms and summaries
	Last   int64      `json:"last"`           // unix nanoseconds of the last update, for expiry
	// Created is when a counter started counting (unix nanoseconds), kept
	// so that its created timestamp does not move to each restart, which a
	// Prometheus ingesting created timestamps would take for a reset.
	Created int64 `json:"created,omitempty"`
}

// SelfSample is one self-metric counter sample.
type SelfSample struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Value  Float             `json:"value"`
}

// Snapshot captures the program's counters and gauges and the self-metric
// counters. Call it where no line is being processed (the tailer calls it
// between lines), so it matches the read positions saved with it.
func (p *Program) Snapshot(now time.Time) State {
	st := State{Saved: now}
	for _, f := range p.families {
		st.Rules = append(st.Rules, FamilyState{Name: f.opts.Name, Signature: p.signatures[f], Series: f.snapshot()})
	}
	if p.self != nil {
		st.Self = p.self.snapshot()
	}
	return st
}

// Restore presets counters and gauges from a saved State: rule metrics
// whose signature is unchanged, and the self-metric counters. It returns how
// many series it restored. Call it once, before the first line.
func (p *Program) Restore(st State) int {
	byName := map[string]*Family{}
	for _, f := range p.families {
		byName[f.opts.Name] = f
	}
	n := 0
	for _, fs := range st.Rules {
		f := byName[fs.Name]
		if f == nil || p.signatures[f] != fs.Signature {
			continue
		}
		for _, s := range fs.Series {
			if f.restore(s) == nil {
				n++
			}
		}
	}
	if p.self != nil {
		n += p.self.restore(st.Self)
	}
	return n
}

// signature summarises what a family means: its kind, help, labels, and
// the patterns and templates of every rule metric feeding it. A change to
// any of them means old values would be counted under a new meaning, so
// the family starts from zero.
func signature(f *Family, feeders []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%q\x00", f.opts.Kind, f.opts.Help, f.opts.LabelNames)
	if o := f.opts; o.Kind == Histogram || o.Kind == Summary {
		// Saved distributions only fit the same buckets and objectives.
		fmt.Fprintf(h, "%v\x00%v\x00%v\x00%v\x00%v\x00%v\x00", o.Buckets, o.Native, o.NativeBucketFactor,
			o.NativeMaxBuckets, o.Classic, slices.Sorted(maps.Keys(o.Objectives)))
	}
	slices.Sort(feeders)
	for _, s := range feeders {
		fmt.Fprintf(h, "%s\x00", s)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (f *Family) snapshot() []SeriesState {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]SeriesState, 0, len(f.series))
	for _, s := range f.series {
		if s.dist == nil {
			out = append(out, SeriesState{Labels: s.values, Value: Float(s.value), Last: s.last, Created: s.created})
			continue
		}
		var m dto.Metric
		pm, ok := s.dist.obs.(prometheus.Metric)
		if !ok || pm.Write(&m) != nil {
			continue
		}
		if s.dist.base != nil && !f.wasReset(s, &m) {
			merge(&m, s.dist.base)
		}
		out = append(out, SeriesState{Labels: s.values, Dist: distOf(&m), Last: s.last})
	}
	slices.SortFunc(out, func(a, b SeriesState) int { return slices.Compare(a.Labels, b.Labels) })
	return out
}

func (f *Family) restore(s SeriesState) error {
	if len(s.Labels) != len(f.opts.LabelNames) {
		return fmt.Errorf("metric %s: saved series has %d labels, want %d", f.opts.Name, len(s.Labels), len(f.opts.LabelNames))
	}
	vals := make([][]byte, len(s.Labels))
	for i, v := range s.Labels {
		vals[i] = []byte(v)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ser, err := f.lookup(vals, time.Unix(0, s.Last))
	if err != nil {
		return err
	}
	switch f.opts.Kind {
	case Counter:
		if s.Value > 0 {
			ser.value += float64(s.Value)
		}
		if s.Created > 0 {
			ser.created = s.Created
		}
	case Gauge:
		ser.value = float64(s.Value)
	default:
		if s.Dist != nil {
			ser.dist.base = s.Dist
			if f.based == nil {
				f.based = map[string]*series{}
			}
			f.based[baseKey(ser.values)] = ser
		}
	}
	ser.last = s.Last
	return nil
}

// restorable lists the self-metric counters that continue across restarts.
func (s *Self) restorable() map[string]*prometheus.CounterVec {
	return map[string]*prometheus.CounterVec{
		"logmeter_lines_read_total":          s.LinesRead,
		"logmeter_bytes_read_total":          s.BytesRead,
		"logmeter_lines_matched_total":       s.LinesMatched,
		"logmeter_lines_unmatched_total":     s.LinesUnmatched,
		"logmeter_decode_errors_total":       s.DecodeErrors,
		"logmeter_value_errors_total":        s.ValueErrors,
		"logmeter_series_dropped_total":      s.SeriesDropped,
		"logmeter_rotation_lost_bytes_total": s.RotationLostBytes,
	}
}

func (s *Self) snapshot() []SelfSample {
	var out []SelfSample
	for name, vec := range s.restorable() {
		ch := make(chan prometheus.Metric, 64)
		go func() { vec.Collect(ch); close(ch) }()
		for m := range ch {
			var d dto.Metric
			if m.Write(&d) != nil {
				continue
			}
			labels := map[string]string{}
			for _, lp := range d.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			out = append(out, SelfSample{Name: name, Labels: labels, Value: Float(d.GetCounter().GetValue())})
		}
	}
	slices.SortFunc(out, func(a, b SelfSample) int {
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		return compareLabels(a.Labels, b.Labels)
	})
	return out
}

func compareLabels(a, b map[string]string) int {
	ka, _ := json.Marshal(a) // sorted keys: a stable order for the file
	kb, _ := json.Marshal(b)
	return slices.Compare(ka, kb)
}

func (s *Self) restore(samples []SelfSample) int {
	vecs := s.restorable()
	n := 0
	for _, smp := range samples {
		vec := vecs[smp.Name]
		if vec == nil || smp.Value <= 0 {
			continue
		}
		c, err := vec.GetMetricWith(smp.Labels)
		if err != nil {
			continue
		}
		c.Add(float64(smp.Value))
		n++
	}
	return n
}

// Float is a float64 that survives JSON even when it is not finite (a sum
// that overflowed): encoding/json refuses NaN and infinities, and one such
// value must not cost the whole saved state.
type Float float64

// MarshalJSON writes finite values as numbers, others as "NaN", "+Inf" or
// "-Inf".
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *Float) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("saved value %q: %w", s, err)
		}
		*f = Float(v)
		return nil
	}
	var v float64
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}
