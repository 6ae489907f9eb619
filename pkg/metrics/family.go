package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Kind is the Prometheus type of a rule metric.
type Kind int

// The zero Kind is invalid so that a forgotten type is caught by NewFamily.
const (
	Counter Kind = iota + 1
	Gauge
	Histogram
	Summary
)

// ParseKind maps the rule-file spelling of a metric type to a Kind.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "counter":
		return Counter, nil
	case "gauge":
		return Gauge, nil
	case "histogram":
		return Histogram, nil
	case "summary":
		return Summary, nil
	}
	return 0, fmt.Errorf("unknown metric type %q (want counter, gauge, histogram or summary)", s)
}

func (k Kind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Histogram:
		return "histogram"
	case Summary:
		return "summary"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Defaults applied by NewFamily when the corresponding option is unset.
const (
	DefaultNativeBucketFactor = 1.1
	DefaultNativeMaxBuckets   = 160
)

// DefaultObjectives returns the summary quantiles used when FamilyOpts.Objectives is nil.
func DefaultObjectives() map[float64]float64 {
	return map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}
}

// FamilyOpts describes one rule metric.
type FamilyOpts struct {
	Name       string
	Help       string
	Kind       Kind
	LabelNames []string

	// Buckets are the classic histogram bounds. Nil means prometheus.DefBuckets,
	// except for a native-only histogram (Native set, Classic not) which then
	// has no classic buckets.
	Buckets []float64
	// Native enables native (sparse) histogram buckets. NativeBucketFactor
	// defaults to 1.1 and NativeMaxBuckets to 160, because log data is
	// external input and must not grow a histogram without bound.
	Native             bool
	NativeBucketFactor float64
	NativeMaxBuckets   uint32
	// Classic keeps classic buckets next to native ones.
	Classic bool

	// Objectives are summary quantiles with their allowed error. Nil means
	// DefaultObjectives(); an empty non-nil map means no quantiles.
	Objectives map[float64]float64

	// MaxSeries caps the number of label sets; 0 means unlimited. Creating
	// a label set past the cap is refused and counted.
	MaxSeries int
	// Expire deletes label sets not updated for this long; 0 means never.
	Expire time.Duration
}

// ErrSeriesLimit is returned when a new label set is refused because the
// family already holds MaxSeries series. The refusal is already counted in
// logmeter_series_dropped_total.
var ErrSeriesLimit = errors.New("series limit reached")

// ErrInvalidValue is wrapped by errors for values a metric cannot take
// (NaN, infinities, negative counter increments). Such errors are already
// counted in logmeter_value_errors_total.
var ErrInvalidValue = errors.New("invalid value")

// series is one label set of a family. A counter's or gauge's value lives
// here rather than in a client_golang child, which would keep a second copy
// of the label values (as label pairs) for every series.
type series struct {
	values  []string // label values; substrings of the series' key
	last    int64    // unix nanoseconds of the last update; guarded by Family.mu
	value   float64  // counter or gauge value; guarded by Family.mu
	created int64    // unix nanoseconds the counter started, exposed as its created timestamp
	dist    *distSeries
}

// distSeries is what a histogram or summary series has on top: its
// client_golang child, whose bucket and quantile logic logmeter reuses.
type distSeries struct {
	obs prometheus.Observer

	// The state from before a restart, exposed added to what obs holds
	// (see dist.go); guarded by Family.mu.
	base        *DistState
	liveCreated time.Time // obs's created time when first seen with the base
}

// Family is one rule metric: its series, with the bookkeeping logmeter needs
// (series cap, expiry, allocation-free lookup). Counters and gauges are
// stored here; histograms and summaries in a client_golang vector.
// It implements prometheus.Collector. All methods are safe for concurrent use.
type Family struct {
	desc *prometheus.Desc     // counters and gauges
	vec  prometheus.Collector // histograms and summaries
	self *Self

	// Cached self-metric children, so the hot path never looks them up.
	dropped    prometheus.Counter
	valueErrs  prometheus.Counter
	seriesSize prometheus.Gauge // guarded by mu

	newObserver func(lvs []string) (prometheus.Observer, error) // histograms and summaries

	// Counters and gauges expose their label pairs in name order, as
	// client_golang does: the label names so sorted, and where each one is
	// in opts.LabelNames (and so in a series' values).
	sortedNames []string
	labelOrder  []int

	mu     sync.Mutex
	opts   FamilyOpts
	series map[string]*series // one per label set, by the key of its (repaired) values; see appendKey
	// Keys of label values that were not valid UTF-8, for the series their
	// repaired values name: several raw keys may share one series.
	aliases map[string]*series
	based   map[string]*series // series with a base, by baseKey
	key     []byte             // reused lookup buffer
}

// NewFamily validates opts and builds an empty family. self may be nil
// (no self-metrics are then updated).
func NewFamily(opts FamilyOpts, self *Self) (*Family, error) {
	opts, err := normalize(opts)
	if err != nil {
		return nil, err
	}
	f := &Family{
		self:   self,
		opts:   opts,
		series: make(map[string]*series),
	}
	if self != nil {
		f.dropped = self.SeriesDropped.WithLabelValues(opts.Name)
		f.valueErrs = self.ValueErrors.WithLabelValues(opts.Name)
	}
	switch opts.Kind {
	case Counter, Gauge:
		f.desc = prometheus.NewDesc(opts.Name, opts.Help, opts.LabelNames, nil)
		f.labelOrder = make([]int, len(opts.LabelNames))
		for i := range f.labelOrder {
			f.labelOrder[i] = i
		}
		slices.SortFunc(f.labelOrder, func(a, b int) int { return strings.Compare(opts.LabelNames[a], opts.LabelNames[b]) })
		f.sortedNames = make([]string, len(opts.LabelNames))
		for i, j := range f.labelOrder {
			f.sortedNames[i] = opts.LabelNames[j]
		}
	case Histogram:
		ho := prometheus.HistogramOpts{Name: opts.Name, Help: opts.Help, Buckets: opts.Buckets}
		if opts.Native {
			ho.NativeHistogramBucketFactor = opts.NativeBucketFactor
			ho.NativeHistogramMaxBucketNumber = opts.NativeMaxBuckets
			// Without a reset duration client_golang widens the zero bucket
			// instead of resetting; an hour keeps resolution bounded over time.
			ho.NativeHistogramMinResetDuration = time.Hour
		}
		v := prometheus.NewHistogramVec(ho, opts.LabelNames)
		f.vec = v
		f.newObserver = func(lvs []string) (prometheus.Observer, error) { return v.GetMetricWithLabelValues(lvs...) }
	case Summary:
		v := prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: opts.Name, Help: opts.Help, Objectives: opts.Objectives}, opts.LabelNames)
		f.vec = v
		f.newObserver = func(lvs []string) (prometheus.Observer, error) { return v.GetMetricWithLabelValues(lvs...) }
	}
	if len(opts.LabelNames) == 0 && opts.Kind != Gauge {
		// A counter (or histogram, summary) without labels has exactly one
		// series: expose it at 0 from the start, as instrumented code does,
		// so rate() and absent() see it before the first matching line. A
		// gauge stays absent until it is set: 0 would be a made-up value.
		f.mu.Lock()
		_, err := f.create(nil, time.Now())
		f.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return f, nil
}

// normalize validates opts, applies defaults and copies the slices and maps
// so that later changes by the caller cannot reach the family.
func normalize(o FamilyOpts) (FamilyOpts, error) {
	if !model.IsValidLegacyMetricName(o.Name) {
		return o, fmt.Errorf("metric name %q is not a valid Prometheus metric name", o.Name)
	}
	if o.Kind < Counter || o.Kind > Summary {
		return o, fmt.Errorf("metric %s: invalid type %v", o.Name, o.Kind)
	}
	if o.MaxSeries < 0 {
		return o, fmt.Errorf("metric %s: max_series must not be negative", o.Name)
	}
	if o.Expire < 0 {
		return o, fmt.Errorf("metric %s: expire must not be negative", o.Name)
	}
	o.LabelNames = slices.Clone(o.LabelNames)
	for i, n := range o.LabelNames {
		if !model.LabelName(n).IsValidLegacy() || strings.HasPrefix(n, "__") {
			return o, fmt.Errorf("metric %s: label name %q is not valid", o.Name, n)
		}
		if slices.Contains(o.LabelNames[:i], n) {
			return o, fmt.Errorf("metric %s: label %q given twice", o.Name, n)
		}
		if (o.Kind == Histogram && n == "le") || (o.Kind == Summary && n == "quantile") {
			return o, fmt.Errorf("metric %s: label name %q is reserved for %s metrics", o.Name, n, o.Kind)
		}
	}
	switch o.Kind {
	case Histogram:
		o.Objectives = nil
		if o.Native {
			if o.NativeBucketFactor == 0 {
				o.NativeBucketFactor = DefaultNativeBucketFactor
			}
			if o.NativeBucketFactor <= 1 {
				return o, fmt.Errorf("metric %s: native bucket factor must be greater than 1, got %g", o.Name, o.NativeBucketFactor)
			}
			if o.NativeMaxBuckets == 0 {
				o.NativeMaxBuckets = DefaultNativeMaxBuckets
			}
		} else {
			o.NativeBucketFactor, o.NativeMaxBuckets, o.Classic = 0, 0, false
		}
		if len(o.Buckets) == 0 && (!o.Native || o.Classic) {
			o.Buckets = prometheus.DefBuckets
		}
		if len(o.Buckets) > 0 {
			o.Classic = true
		}
		o.Buckets = slices.Clone(o.Buckets)
		for i, b := range o.Buckets {
			if math.IsNaN(b) || (i > 0 && b <= o.Buckets[i-1]) {
				return o, fmt.Errorf("metric %s: buckets must be numbers in strictly increasing order", o.Name)
			}
		}
	case Summary:
		o.Buckets, o.Native, o.NativeBucketFactor, o.NativeMaxBuckets, o.Classic = nil, false, 0, 0, false
		if o.Objectives == nil {
			o.Objectives = DefaultObjectives()
		} else {
			o.Objectives = maps.Clone(o.Objectives)
		}
		for q, e := range o.Objectives {
			if !(q >= 0 && q <= 1) || !(e >= 0 && e <= 1) {
				return o, fmt.Errorf("metric %s: objective %g: %g needs a quantile and an error between 0 and 1", o.Name, q, e)
			}
		}
	default:
		o.Buckets, o.Objectives, o.Native, o.NativeBucketFactor, o.NativeMaxBuckets, o.Classic = nil, nil, false, 0, 0, false
	}
	return o, nil
}

// Opts returns the family's options after defaults were applied.
func (f *Family) Opts() FamilyOpts {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.opts
	o.LabelNames = slices.Clone(o.LabelNames)
	o.Buckets = slices.Clone(o.Buckets)
	o.Objectives = maps.Clone(o.Objectives)
	return o
}

// Name returns the metric name.
func (f *Family) Name() string { return f.opts.Name }

// Len returns the number of series (label sets) the family holds.
func (f *Family) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.series)
}

// setLimits changes MaxSeries and Expire, the options a reload may change
// without starting the family afresh.
func (f *Family) setLimits(maxSeries int, expire time.Duration) {
	f.mu.Lock()
	f.opts.MaxSeries, f.opts.Expire = maxSeries, expire
	f.mu.Unlock()
}

// Add increments a counter by v (v must not be negative) or adds v to a
// gauge (negative v subtracts).
func (f *Family) Add(labelValues [][]byte, v float64, now time.Time) error {
	if f.opts.Kind != Counter && f.opts.Kind != Gauge {
		return f.kindError("Add")
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || (f.opts.Kind == Counter && v < 0) {
		return f.valueError(v)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(labelValues, now)
	if err != nil {
		return err
	}
	s.value += v
	return nil
}

// Set sets a gauge to v.
func (f *Family) Set(labelValues [][]byte, v float64, now time.Time) error {
	if f.opts.Kind != Gauge {
		return f.kindError("Set")
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return f.valueError(v)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(labelValues, now)
	if err != nil {
		return err
	}
	s.value = v
	return nil
}

// Observe records v in a histogram or summary.
func (f *Family) Observe(labelValues [][]byte, v float64, now time.Time) error {
	if f.opts.Kind != Histogram && f.opts.Kind != Summary {
		return f.kindError("Observe")
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return f.valueError(v)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(labelValues, now)
	if err != nil {
		return err
	}
	s.dist.obs.Observe(v)
	return nil
}

// CountValueError counts a value of this metric that could not be used,
// such as a rendered value ParseValue rejected.
func (f *Family) CountValueError() {
	if f.valueErrs != nil {
		f.valueErrs.Inc()
	}
}

func (f *Family) kindError(op string) error {
	return fmt.Errorf("metric %s: %s is not defined for a %s", f.opts.Name, op, f.opts.Kind)
}

func (f *Family) valueError(v float64) error {
	f.CountValueError()
	return fmt.Errorf("metric %s: %w %g for a %s", f.opts.Name, ErrInvalidValue, v, f.opts.Kind)
}

// appendKey encodes label values with a length prefix each, so that no
// byte inside a value (logs may hold any byte) can make two label sets collide.
func appendKey(dst []byte, labelValues [][]byte) []byte {
	for _, v := range labelValues {
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// lookup returns the series for labelValues, creating it when allowed.
// f.mu must be held.
func (f *Family) lookup(labelValues [][]byte, now time.Time) (*series, error) {
	if len(labelValues) != len(f.opts.LabelNames) {
		return nil, fmt.Errorf("metric %s: got %d label values for %d labels", f.opts.Name, len(labelValues), len(f.opts.LabelNames))
	}
	f.key = appendKey(f.key[:0], labelValues)
	s, ok := f.series[string(f.key)] // these conversions do not allocate
	if !ok {
		s, ok = f.aliases[string(f.key)]
	}
	if ok {
		s.last = now.UnixNano()
		return s, nil
	}
	return f.create(labelValues, now)
}

// create adds a series for labelValues; f.key holds their key. f.mu must be held.
func (f *Family) create(labelValues [][]byte, now time.Time) (*series, error) {
	var key, alias string
	repaired := slices.ContainsFunc(labelValues, func(v []byte) bool { return !utf8.Valid(v) })
	if repaired {
		// Prometheus label values must be UTF-8; logs need not be.
		lvs := make([]string, len(labelValues))
		for i, v := range labelValues {
			lvs[i] = strings.ToValidUTF8(string(v), "\uFFFD")
		}
		alias, key = string(f.key), string(appendKeyStrings(nil, lvs))
		if f.aliases == nil {
			f.aliases = make(map[string]*series)
		}
		// Other raw bytes may already have produced the same repaired values:
		// share that series instead of creating a second one.
		if s, ok := f.series[key]; ok {
			if f.opts.MaxSeries > 0 && len(f.aliases) >= f.opts.MaxSeries {
				return nil, f.refuse()
			}
			f.aliases[alias] = s
			s.last = now.UnixNano()
			return s, nil
		}
	}
	if f.opts.MaxSeries > 0 && len(f.series) >= f.opts.MaxSeries {
		return nil, f.refuse()
	}
	if !repaired {
		key = string(f.key)
	}
	s := &series{values: splitKey(key, len(labelValues)), last: now.UnixNano()}
	switch f.opts.Kind {
	case Counter:
		// Wall-clock time, whatever clock now comes from: the created
		// timestamp tells Prometheus when this process started counting.
		s.created = time.Now().UnixNano()
	case Histogram, Summary:
		obs, err := f.newObserver(s.values)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", f.opts.Name, err)
		}
		s.dist = &distSeries{obs: obs}
	}
	f.series[key] = s
	if repaired {
		f.aliases[alias] = s
	}
	if f.self != nil {
		if f.seriesSize == nil {
			// Resolved late so that a family of a rejected rule version,
			// which never gets a series, leaves no logmeter_series behind.
			f.seriesSize = f.self.Series.WithLabelValues(f.opts.Name)
		}
		f.seriesSize.Set(float64(len(f.series)))
	}
	return s, nil
}

func appendKeyStrings(dst []byte, values []string) []byte {
	for _, v := range values {
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// splitKey returns the n label values encoded in key (see appendKey) as
// substrings of it, so that a series' key and values share one allocation.
func splitKey(key string, n int) []string {
	values := make([]string, n)
	off := 0
	for i := range values {
		var size uint64
		for shift := 0; ; shift += 7 {
			b := key[off]
			off++
			size |= uint64(b&0x7f) << shift
			if b < 0x80 {
				break
			}
		}
		values[i] = key[off : off+int(size)]
		off += int(size)
	}
	return values
}

func (f *Family) refuse() error {
	if f.dropped != nil {
		f.dropped.Inc()
	}
	return ErrSeriesLimit
}

// Expire deletes the series not updated for longer than the family's
// Expire option and returns how many it deleted.
func (f *Family) Expire(now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opts.Expire <= 0 {
		return 0
	}
	cutoff := now.Add(-f.opts.Expire).UnixNano()
	// An alias shares its series' last update, so both go together.
	maps.DeleteFunc(f.aliases, func(_ string, s *series) bool { return s.last < cutoff })
	n := 0
	for k, s := range f.series {
		if s.last >= cutoff {
			continue
		}
		delete(f.series, k)
		n++
		if s.dist != nil {
			f.deleteChild(s.values)
			if s.dist.base != nil {
				delete(f.based, baseKey(s.values))
			}
		}
	}
	if n > 0 && f.seriesSize != nil {
		f.seriesSize.Set(float64(len(f.series)))
	}
	return n
}

func (f *Family) deleteChild(lvs []string) {
	switch v := f.vec.(type) {
	case *prometheus.HistogramVec:
		v.DeleteLabelValues(lvs...)
	case *prometheus.SummaryVec:
		v.DeleteLabelValues(lvs...)
	}
}

// Describe implements prometheus.Collector.
func (f *Family) Describe(ch chan<- *prometheus.Desc) {
	if f.vec != nil {
		f.vec.Describe(ch)
		return
	}
	ch <- f.desc
}

// Collect implements prometheus.Collector.
func (f *Family) Collect(ch chan<- prometheus.Metric) {
	if f.vec == nil {
		f.collectValues(ch)
		return
	}
	f.mu.Lock()
	based := len(f.based) > 0
	f.mu.Unlock()
	if based {
		f.collectWithBases(ch)
		return
	}
	f.vec.Collect(ch)
}

// collectValues sends a metric per counter or gauge series. The values are
// copied under the lock and written after it, so that a scrape holds up the
// lines being counted as briefly as possible.
func (f *Family) collectValues(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	ms := make([]valueMetric, len(f.series)) // one allocation for the scrape
	i := 0
	for _, s := range f.series {
		ms[i] = valueMetric{fam: f, values: s.values, value: s.value, created: s.created}
		i++
	}
	f.mu.Unlock()
	for i := range ms {
		ch <- &ms[i]
	}
}

// valueMetric is a counter or gauge series as collected. Its label pairs
// point at the family's label names and the series' values, which never
// change, so that a scrape copies no label string.
type valueMetric struct {
	fam     *Family
	values  []string
	value   float64
	created int64
}

// Desc implements prometheus.Metric.
func (m *valueMetric) Desc() *prometheus.Desc { return m.fam.desc }

// Write implements prometheus.Metric. What it writes must not be changed,
// as the prometheus.Metric contract asks of every reader.
func (m *valueMetric) Write(out *dto.Metric) error {
	f := m.fam
	if len(m.values) > 0 {
		pairs := make([]dto.LabelPair, len(m.values)) // one allocation for all pairs
		out.Label = make([]*dto.LabelPair, len(m.values))
		for i, j := range f.labelOrder {
			pairs[i].Name, pairs[i].Value = &f.sortedNames[i], &m.values[j]
			out.Label[i] = &pairs[i]
		}
	}
	if f.opts.Kind == Counter {
		out.Counter = &dto.Counter{Value: &m.value, CreatedTimestamp: timestamppb.New(time.Unix(0, m.created))}
	} else {
		out.Gauge = &dto.Gauge{Value: &m.value}
	}
	return nil
}

// compatible reports whether a family built from o would expose the same
// metric as f, so that f may carry on in its place across a reload.
func (f *Family) compatible(o FamilyOpts) bool {
	a := f.Opts()
	return a.Name == o.Name && a.Help == o.Help && a.Kind == o.Kind &&
		slices.Equal(a.LabelNames, o.LabelNames) &&
		slices.Equal(a.Buckets, o.Buckets) && maps.Equal(a.Objectives, o.Objectives) &&
		a.Native == o.Native && a.NativeBucketFactor == o.NativeBucketFactor &&
		a.NativeMaxBuckets == o.NativeMaxBuckets && a.Classic == o.Classic
}
