package metrics

import (
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A histogram or summary of client_golang cannot be preset, so its saved
// state survives a restart as a base: the series exposes base + what it
// observed since the start. Summaries carry count and sum over (their
// quantiles describe a sliding window of recent values, which starts
// afresh); histograms carry everything, classic buckets and native ones.

// DistState is the saved state of one histogram or summary series.
type DistState struct {
	Count uint64 `json:"count"`
	Sum   Float  `json:"sum"`
	// Buckets are the classic buckets' cumulative counts, in the order of
	// the family's bucket bounds.
	Buckets []uint64 `json:"buckets,omitempty"`
	// Native histogram: schema, zero bucket and the counts of the other
	// buckets by index (see the Prometheus native histogram format).
	Native        bool             `json:"native,omitempty"`
	Schema        int32            `json:"schema,omitempty"`
	ZeroThreshold float64          `json:"zero_threshold,omitempty"`
	ZeroCount     uint64           `json:"zero_count,omitempty"`
	Positive      map[int32]uint64 `json:"positive,omitempty"`
	Negative      map[int32]uint64 `json:"negative,omitempty"`
	// Created is the series' created timestamp (unix nanoseconds), which
	// the restored series keeps exposing.
	Created int64 `json:"created,omitempty"`
}

// distOf reads the state of a written histogram or summary.
func distOf(m *dto.Metric) *DistState {
	if s := m.GetSummary(); s != nil && m.Histogram == nil {
		return &DistState{Count: s.GetSampleCount(), Sum: Float(s.GetSampleSum()), Created: unixNano(s.GetCreatedTimestamp())}
	}
	h := m.GetHistogram()
	if h == nil {
		return nil
	}
	d := &DistState{Count: h.GetSampleCount(), Sum: Float(h.GetSampleSum()), Created: unixNano(h.GetCreatedTimestamp())}
	for _, b := range h.GetBucket() {
		d.Buckets = append(d.Buckets, b.GetCumulativeCount())
	}
	if h.Schema != nil {
		d.Native = true
		d.Schema = h.GetSchema()
		d.ZeroThreshold = h.GetZeroThreshold()
		d.ZeroCount = h.GetZeroCount()
		d.Positive = decodeBuckets(h.GetPositiveSpan(), h.GetPositiveDelta())
		d.Negative = decodeBuckets(h.GetNegativeSpan(), h.GetNegativeDelta())
	}
	return d
}

// decodeBuckets turns spans and delta-encoded counts into counts by index.
func decodeBuckets(spans []*dto.BucketSpan, deltas []int64) map[int32]uint64 {
	out := map[int32]uint64{}
	var idx int32
	var count int64
	n := 0
	for _, s := range spans {
		idx += s.GetOffset()
		for range s.GetLength() {
			if n >= len(deltas) {
				return out
			}
			count += deltas[n]
			n++
			if count > 0 {
				out[idx] = uint64(count)
			}
			idx++
		}
	}
	return out
}

// encodeBuckets is decodeBuckets' inverse.
func encodeBuckets(counts map[int32]uint64) ([]*dto.BucketSpan, []int64) {
	idxs := slices.Sorted(maps.Keys(counts))
	var (
		spans  []*dto.BucketSpan
		deltas []int64
		prev   int64
		next   int32 // index after the last bucket written
	)
	for i, idx := range idxs {
		if i == 0 || idx != next {
			offset := idx
			if i > 0 {
				offset = idx - next
			}
			spans = append(spans, &dto.BucketSpan{Offset: proto.Int32(offset), Length: proto.Uint32(0)})
		}
		sp := spans[len(spans)-1]
		sp.Length = proto.Uint32(sp.GetLength() + 1)
		c := int64(counts[idx])
		deltas = append(deltas, c-prev)
		prev = c
		next = idx + 1
	}
	return spans, deltas
}

// reduceTo maps bucket counts of schema from to the coarser schema to:
// each step down merges pairs of neighbouring buckets.
func reduceTo(counts map[int32]uint64, from, to int32) map[int32]uint64 {
	if from <= to {
		return counts
	}
	shift := from - to
	out := make(map[int32]uint64, len(counts))
	for idx, c := range counts {
		// Bucket idx covers (b^(idx-1), b^idx]; at the coarser schema it
		// falls into ceil(idx / 2^shift), for negative indexes too.
		out[(idx+(1<<shift)-1)>>shift] += c
	}
	return out
}

// merge adds base to the written metric m in place.
func merge(m *dto.Metric, base *DistState) {
	if s := m.GetSummary(); s != nil && m.Histogram == nil {
		s.SampleCount = proto.Uint64(s.GetSampleCount() + base.Count)
		s.SampleSum = proto.Float64(s.GetSampleSum() + float64(base.Sum))
		// The series is older than this process: it started when the base did.
		s.CreatedTimestamp = timestamp(base.Created)
		return
	}
	h := m.GetHistogram()
	if h == nil {
		return
	}
	h.CreatedTimestamp = timestamp(base.Created)
	h.SampleCount = proto.Uint64(h.GetSampleCount() + base.Count)
	h.SampleSum = proto.Float64(h.GetSampleSum() + float64(base.Sum))
	if len(base.Buckets) == len(h.GetBucket()) {
		for i, b := range h.GetBucket() {
			b.CumulativeCount = proto.Uint64(b.GetCumulativeCount() + base.Buckets[i])
		}
	}
	if h.Schema == nil || !base.Native {
		return
	}
	live := distOf(m) // the live native part, decoded
	schema := min(h.GetSchema(), base.Schema)
	pos := reduceTo(live.Positive, h.GetSchema(), schema)
	neg := reduceTo(live.Negative, h.GetSchema(), schema)
	for idx, c := range reduceTo(base.Positive, base.Schema, schema) {
		pos[idx] += c
	}
	for idx, c := range reduceTo(base.Negative, base.Schema, schema) {
		neg[idx] += c
	}
	h.Schema = proto.Int32(schema)
	h.ZeroThreshold = proto.Float64(math.Max(h.GetZeroThreshold(), base.ZeroThreshold))
	h.ZeroCount = proto.Uint64(h.GetZeroCount() + base.ZeroCount)
	h.PositiveSpan, h.PositiveDelta = encodeBuckets(pos)
	h.NegativeSpan, h.NegativeDelta = encodeBuckets(neg)
	h.PositiveCount, h.NegativeCount = nil, nil
}

func unixNano(ts *timestamppb.Timestamp) int64 {
	if ts == nil {
		return 0
	}
	return ts.AsTime().UnixNano()
}

// timestamp is the created timestamp of a restored series: none when the
// saved state did not know it.
func timestamp(unixNano int64) *timestamppb.Timestamp {
	if unixNano <= 0 {
		return nil
	}
	return timestamppb.New(time.Unix(0, unixNano))
}

// mergedMetric is a collected metric with its base added.
type mergedMetric struct {
	desc *prometheus.Desc
	m    *dto.Metric
}

func (mm *mergedMetric) Desc() *prometheus.Desc { return mm.desc }

func (mm *mergedMetric) Write(out *dto.Metric) error {
	proto.Reset(out)
	proto.Merge(out, mm.m)
	return nil
}

// baseKey identifies a series by its label values.
func baseKey(values []string) string { return strings.Join(values, "\xff") }

// collectWithBases collects the family's vector and adds the bases of the
// series that have one. A series that was reset since (a native histogram
// that outgrew its buckets) loses its base, so the reset shows as one.
func (f *Family) collectWithBases(ch chan<- prometheus.Metric) {
	inner := make(chan prometheus.Metric, 64)
	go func() {
		f.vec.Collect(inner)
		close(inner)
	}()
	for m := range inner {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			ch <- m
			continue
		}
		values := make([]string, len(f.opts.LabelNames))
		for _, lp := range d.GetLabel() {
			if i := slices.Index(f.opts.LabelNames, lp.GetName()); i >= 0 {
				values[i] = lp.GetValue()
			}
		}
		f.mu.Lock()
		var base *DistState
		if s := f.based[baseKey(values)]; s != nil && !f.wasReset(s, &d) {
			base = s.dist.base
		}
		f.mu.Unlock()
		if base == nil {
			ch <- m
			continue
		}
		merge(&d, base)
		ch <- &mergedMetric{desc: m.Desc(), m: &d}
	}
}

// wasReset reports whether series s, whose base was restored, has been reset
// since, judged by the written metric d: client_golang stamps a histogram's
// created time anew when it resets. The base is dropped then. Call with
// f.mu held.
func (f *Family) wasReset(s *series, d *dto.Metric) bool {
	if s.dist.base == nil {
		return true
	}
	ct := d.GetHistogram().GetCreatedTimestamp()
	if ct == nil {
		ct = d.GetSummary().GetCreatedTimestamp()
	}
	created := ct.AsTime()
	if ct == nil || s.dist.liveCreated.IsZero() {
		s.dist.liveCreated = created
		return false
	}
	if created.Equal(s.dist.liveCreated) {
		return false
	}
	s.dist.base = nil
	delete(f.based, baseKey(s.values))
	return true
}
