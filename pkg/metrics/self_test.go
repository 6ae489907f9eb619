package metrics

import (
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNewSelf(t *testing.T) {
	self, reg := newTestSelf(t)
	self.LinesRead.WithLabelValues("nginx").Add(3)
	self.DecodeErrors.WithLabelValues("containers", "too_long").Inc()
	self.ForwardBulkDuration.Observe(0.2)
	self.ConfigLastReloadSuccessful.Set(1)

	want := `# HELP logmeter_build_info Constant 1, labelled with the logmeter build.
# TYPE logmeter_build_info gauge
logmeter_build_info{goversion="` + runtime.Version() + `",revision="abc",version="test"} 1
# HELP logmeter_decode_errors_total Malformed CRI, docker or JSON lines and over-long lines.
# TYPE logmeter_decode_errors_total counter
logmeter_decode_errors_total{input="containers",reason="too_long"} 1
# HELP logmeter_forward_docs_total Documents handled by the Elasticsearch forwarder, by result.
# TYPE logmeter_forward_docs_total counter
logmeter_forward_docs_total{result="dropped"} 0
logmeter_forward_docs_total{result="failed"} 0
logmeter_forward_docs_total{result="retried"} 0
logmeter_forward_docs_total{result="sent"} 0
# HELP logmeter_lines_read_total Lines delivered by the decoder, after partial and multiline reassembly.
# TYPE logmeter_lines_read_total counter
logmeter_lines_read_total{input="nginx"} 3
# HELP logmeter_config_last_reload_successful 1 when the last configuration reload was applied, else 0.
# TYPE logmeter_config_last_reload_successful gauge
logmeter_config_last_reload_successful 1
`
	names := []string{"logmeter_build_info", "logmeter_decode_errors_total", "logmeter_forward_docs_total",
		"logmeter_lines_read_total", "logmeter_config_last_reload_successful"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "logmeter_forward_bulk_duration_seconds"); err != nil || n != 1 {
		t.Errorf("bulk duration histogram: %d series, %v", n, err)
	}
	// Lint the exposition against the Prometheus naming conventions.
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestNewSelfTwiceOnOneRegistry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if _, err := NewSelf(reg, "v", "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSelf(reg, "v", "r"); err == nil {
		t.Error("registering self-metrics twice on one registry must fail")
	}
	// A second registry is independent: no shared state.
	if _, err := NewSelf(prometheus.NewPedanticRegistry(), "v", "r"); err != nil {
		t.Error(err)
	}
}
