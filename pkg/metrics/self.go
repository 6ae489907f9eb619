package metrics

import (
	"fmt"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the result label of logmeter_forward_docs_total; all four are
// exposed from the start so that rate() works before the first failure.
const (
	ResultSent    = "sent"
	ResultFailed  = "failed"
	ResultRetried = "retried"
	ResultDropped = "dropped"
)

// Self holds logmeter's own metrics. Every pipeline gets its own Self,
// registered on the registry it was built with.
type Self struct {
	LinesRead                  *prometheus.CounterVec // input
	BytesRead                  *prometheus.CounterVec // input
	LinesMatched               *prometheus.CounterVec // rule
	LinesUnmatched             *prometheus.CounterVec // input
	DecodeErrors               *prometheus.CounterVec // input, reason
	ValueErrors                *prometheus.CounterVec // metric
	SeriesDropped              *prometheus.CounterVec // metric
	Series                     *prometheus.GaugeVec   // metric
	FilesWatched               *prometheus.GaugeVec   // input
	LagBytes                   *prometheus.GaugeVec   // input
	RotationLostBytes          *prometheus.CounterVec // input
	FileErrors                 *prometheus.CounterVec // input, reason
	CheckpointErrors           prometheus.Counter
	ForwardDocs                *prometheus.CounterVec // result
	ForwardBufferBytes         prometheus.Gauge
	ForwardBufferMaxBytes      prometheus.Gauge // buffer.max_bytes, for "buffer near full" alerts
	ForwardLostBytes           prometheus.Counter
	KubernetesAPIUp            prometheus.Gauge
	ForwardBulkDuration        prometheus.Histogram
	ConfigLastReloadSuccessful prometheus.Gauge
	BuildInfo                  prometheus.Gauge // constant 1, labels version, goversion, revision
}

// NewSelf creates the self-metrics and registers them on reg.
func NewSelf(reg prometheus.Registerer, version, revision string) (*Self, error) {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	s := &Self{
		LinesRead:      counter("logmeter_lines_read_total", "Lines delivered by the decoder, after partial and multiline reassembly.", "input"),
		BytesRead:      counter("logmeter_bytes_read_total", "Bytes read from log files.", "input"),
		LinesMatched:   counter("logmeter_lines_matched_total", "Lines matched by a rule.", "rule"),
		LinesUnmatched: counter("logmeter_lines_unmatched_total", "Lines matched by no rule.", "input"),
		DecodeErrors:   counter("logmeter_decode_errors_total", "Malformed CRI, docker or JSON lines and over-long lines.", "input", "reason"),
		ValueErrors:    counter("logmeter_value_errors_total", "Rule metric values that did not parse as a usable number.", "metric"),
		SeriesDropped:  counter("logmeter_series_dropped_total", "New label sets refused because the metric reached max_series.", "metric"),
		Series: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logmeter_series", Help: "Label sets a rule metric currently holds.",
		}, []string{"metric"}),
		FilesWatched: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logmeter_files_watched", Help: "Files currently followed.",
		}, []string{"input"}),
		LagBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logmeter_lag_bytes", Help: "Bytes appended to followed files and not read yet, per input.",
		}, []string{"input"}),
		RotationLostBytes: counter("logmeter_rotation_lost_bytes_total", "Bytes that rotated away before they were read.", "input"),
		CheckpointErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logmeter_checkpoint_errors_total",
			Help: "Checkpoints (read positions and metric state) that could not be saved in state_dir, e.g. a full disk.",
		}),
		FileErrors: counter("logmeter_file_errors_total",
			"Paths an input matched that could not be followed, counted when the problem appears: not_regular (a directory, FIFO, socket or device), permission_denied, open_failed, read_failed, missing_directory (the fixed part of a path glob).", "input", "reason"),
		ForwardDocs:        counter("logmeter_forward_docs_total", "Documents handled by the Elasticsearch forwarder, by result.", "result"),
		ForwardBufferBytes: gauge("logmeter_forward_buffer_bytes", "Bytes waiting in the forward buffer."),
		ForwardBufferMaxBytes: gauge("logmeter_forward_buffer_max_bytes",
			"The forward buffer's limit (forward.elasticsearch.buffer.max_bytes); past it when_full applies. 0 without forwarding."),
		KubernetesAPIUp: gauge("logmeter_kubernetes_api_up", "1 while pod metadata from the Kubernetes API is synced and watched; 0 while only file names give it."),
		ForwardLostBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logmeter_forward_lost_bytes_total", Help: "Bytes that rotated away before the forwarder could read them.",
		}),
		ForwardBulkDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "logmeter_forward_bulk_duration_seconds",
			Help: "Latency of Elasticsearch Bulk requests.",
			// A healthy Bulk request takes milliseconds, a struggling cluster tens of seconds.
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}),
		ConfigLastReloadSuccessful: gauge("logmeter_config_last_reload_successful", "1 when the last configuration reload was applied, else 0."),
		BuildInfo: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logmeter_build_info",
			Help: "Constant 1, labelled with the logmeter build.",
			ConstLabels: prometheus.Labels{
				"version":   version,
				"goversion": runtime.Version(),
				"revision":  revision,
			},
		}),
	}
	s.BuildInfo.Set(1)
	for _, r := range []string{ResultSent, ResultFailed, ResultRetried, ResultDropped} {
		s.ForwardDocs.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{
		s.LinesRead, s.BytesRead, s.LinesMatched, s.LinesUnmatched, s.DecodeErrors,
		s.ValueErrors, s.SeriesDropped, s.Series, s.FilesWatched, s.LagBytes, s.RotationLostBytes, s.FileErrors, s.CheckpointErrors,
		s.ForwardDocs, s.ForwardBufferBytes, s.ForwardBufferMaxBytes, s.ForwardLostBytes, s.KubernetesAPIUp, s.ForwardBulkDuration,
		s.ConfigLastReloadSuccessful, s.BuildInfo,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering self-metrics: %w", err)
		}
	}
	return s, nil
}
