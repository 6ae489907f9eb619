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
	"github.com/prometheus/common/model"
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

// series is one label set of a family.
type series struct {
	counter prometheus.Counter
	gauge   prometheus.Gauge
	obs     prometheus.Observer
	values  []string // label values, kept for DeleteLabelValues
	last    int64    // unix nanoseconds of the last update; guarded by Family.mu

	// A histogram's or summary's state from before a restart, exposed added
	// to what obs holds (see dist.go); guarded by Family.mu.
	base        *DistState
	liveCreated time.Time // obs's created time when first seen with the base
}

// Family is one rule metric: a client_golang vector plus the bookkeeping
// logmeter needs on top (series cap, expiry, allocation-free lookup).
// It implements prometheus.Collector. All methods are safe for concurrent use.
type Family struct {
	vec  prometheus.Collector
	self *Self

	// Cached self-metric children, so the hot path never looks them up.
	dropped    prometheus.Counter
	valueErrs  prometheus.Counter
	seriesSize prometheus.Gauge // guarded by mu

	newChild func(lvs []string) (*series, error)

	mu       sync.Mutex
	opts     FamilyOpts
	series   map[string]*series // key: see appendKey; several keys may share a series
	based    map[string]*series // series with a base, by baseKey
	distinct int                // distinct series (aliases from UTF-8 repair excluded)
	key      []byte             // reused lookup buffer
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
	case Counter:
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: opts.Name, Help: opts.Help}, opts.LabelNames)
		f.vec = v
		f.newChild = func(lvs []string) (*series, error) {
			c, err := v.GetMetricWithLabelValues(lvs...)
			return &series{counter: c}, err
		}
	case Gauge:
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: opts.Name, Help: opts.Help}, opts.LabelNames)
		f.vec = v
		f.newChild = func(lvs []string) (*series, error) {
			g, err := v.GetMetricWithLabelValues(lvs...)
			return &series{gauge: g}, err
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
		f.newChild = func(lvs []string) (*series, error) {
			o, err := v.GetMetricWithLabelValues(lvs...)
			return &series{obs: o}, err
		}
	case Summary:
		v := prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: opts.Name, Help: opts.Help, Objectives: opts.Objectives}, opts.LabelNames)
		f.vec = v
		f.newChild = func(lvs []string) (*series, error) {
			o, err := v.GetMetricWithLabelValues(lvs...)
			return &series{obs: o}, err
		}
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
	return f.distinct
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
	if s.counter != nil {
		s.counter.Add(v)
	} else {
		s.gauge.Add(v)
	}
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
	s.gauge.Set(v)
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
	s.obs.Observe(v)
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
	if s, ok := f.series[string(f.key)]; ok { // this conversion does not allocate
		s.last = now.UnixNano()
		return s, nil
	}
	return f.create(labelValues, now)
}

// create adds a series for labelValues; f.key holds their key. f.mu must be held.
func (f *Family) create(labelValues [][]byte, now time.Time) (*series, error) {
	lvs := make([]string, len(labelValues))
	repaired := false
	for i, v := range labelValues {
		if utf8.Valid(v) {
			lvs[i] = string(v)
		} else {
			// Prometheus label values must be UTF-8; logs need not be.
			lvs[i] = strings.ToValidUTF8(string(v), "\uFFFD")
			repaired = true
		}
	}
	var canon []byte
	if repaired {
		// Other raw bytes may already have produced the same repaired values:
		// share that series instead of creating a second child for it.
		canon = appendKeyStrings(nil, lvs)
		if s, ok := f.series[string(canon)]; ok {
			if f.opts.MaxSeries > 0 && len(f.series) >= 2*f.opts.MaxSeries {
				return nil, f.refuse()
			}
			f.series[string(f.key)] = s
			s.last = now.UnixNano()
			return s, nil
		}
	}
	if f.opts.MaxSeries > 0 && f.distinct >= f.opts.MaxSeries {
		return nil, f.refuse()
	}
	s, err := f.newChild(lvs)
	if err != nil {
		return nil, fmt.Errorf("metric %s: %w", f.opts.Name, err)
	}
	s.values = lvs
	s.last = now.UnixNano()
	f.series[string(f.key)] = s
	if repaired {
		f.series[string(canon)] = s
	}
	f.distinct++
	if f.self != nil {
		if f.seriesSize == nil {
			// Resolved late so that a family of a rejected rule version,
			// which never gets a series, leaves no logmeter_series behind.
			f.seriesSize = f.self.Series.WithLabelValues(f.opts.Name)
		}
		f.seriesSize.Set(float64(f.distinct))
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
	n := 0
	deleted := make(map[*series]bool)
	for k, s := range f.series {
		if s.last >= cutoff {
			continue
		}
		delete(f.series, k)
		if !deleted[s] {
			deleted[s] = true
			n++
			f.deleteChild(s.values)
			if s.base != nil {
				delete(f.based, baseKey(s.values))
			}
		}
	}
	f.distinct -= n
	if n > 0 && f.seriesSize != nil {
		f.seriesSize.Set(float64(f.distinct))
	}
	return n
}

func (f *Family) deleteChild(lvs []string) {
	switch v := f.vec.(type) {
	case *prometheus.CounterVec:
		v.DeleteLabelValues(lvs...)
	case *prometheus.GaugeVec:
		v.DeleteLabelValues(lvs...)
	case *prometheus.HistogramVec:
		v.DeleteLabelValues(lvs...)
	case *prometheus.SummaryVec:
		v.DeleteLabelValues(lvs...)
	}
}

// Describe implements prometheus.Collector.
func (f *Family) Describe(ch chan<- *prometheus.Desc) { f.vec.Describe(ch) }

// Collect implements prometheus.Collector.
func (f *Family) Collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	based := len(f.based) > 0
	f.mu.Unlock()
	if based {
		f.collectWithBases(ch)
		return
	}
	f.vec.Collect(ch)
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
