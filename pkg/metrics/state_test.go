package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logmeter/logmeter/pkg/logline"
)

// testdata/state-counters.json is the state logmeter saved, before counters
// and gauges were kept outside client_golang, after stateLines at t0 under
// stateRules, at t0 plus a minute. It must keep restoring, and the same
// lines must still save the same file.
const stateRules = `
rules:
  - name: req
    match: '^%{WORD:method} %{INT:status} %{NUMBER:bytes} %{NOTSPACE:path}$'
    metrics:
      - {name: requests_total, type: counter, help: Requests., labels: {status: '{{.status}}', method: '{{.method}}'}}
      - {name: paths_total, type: counter, help: Paths., labels: {path: '{{.path}}'}}
      - {name: lines_total, type: counter, help: Lines.}
      - {name: last_bytes, type: gauge, help: Last size., labels: {method: '{{.method}}'}, value: '{{.bytes}}'}
      - {name: bytes_sum, type: gauge, help: Size sum., action: add, value: '{{.bytes}}'}
`

var stateLines = []logline.Line{
	text("GET 200 10 /a"), text("GET 200 2.5 /a\xff"), text("POST 500 7 /a\xfe"),
	text("GET 404 1 /b"), text("PUT 200 0.25 /a\ufffd"),
}

const stateExposition = `# HELP bytes_sum Size sum.
# TYPE bytes_sum gauge
bytes_sum 20.75
# HELP last_bytes Last size.
# TYPE last_bytes gauge
last_bytes{method="GET"} 1
last_bytes{method="POST"} 7
last_bytes{method="PUT"} 0.25
# HELP lines_total Lines.
# TYPE lines_total counter
lines_total 5
# HELP paths_total Paths.
# TYPE paths_total counter
paths_total{path="/a"} 1
paths_total{path="/a` + "\ufffd" + `"} 3
paths_total{path="/b"} 1
# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{method="GET",status="200"} 2
requests_total{method="GET",status="404"} 1
requests_total{method="POST",status="500"} 1
requests_total{method="PUT",status="200"} 1
`

// TestStateRestoresSavedFile: a saved state file restores the counters and
// gauges it holds with their last updates, and saving them again gives the
// same file, so restarts carry on across versions.
func TestStateRestoresSavedFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "state-counters.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		rules string
		want  int // series restored
		expo  string
	}{
		{"same rules", stateRules, 13, stateExposition},
		{"a changed metric starts afresh", strings.Replace(stateRules, "help: Requests.", "help: Other.", 1), 9, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t)
			p.load(t, tt.rules)
			if n := p.prog.Restore(st); n != tt.want {
				t.Errorf("Restore = %d series, want %d", n, tt.want)
			}
			if tt.expo == "" {
				return
			}
			p.compare(t, tt.expo)
			again := p.prog.Snapshot(st.Saved)
			if n := withoutCreated(&again); n == 0 {
				t.Error("no created timestamps saved")
			}
			got, err := json.MarshalIndent(again, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if string(got)+"\n" != string(data) {
				t.Errorf("saved again:\n%s\nwant:\n%s", got, data)
			}
		})
	}
	t.Run("written", func(t *testing.T) {
		p := newPipeline(t)
		p.load(t, stateRules)
		p.process(stateLines, t0)
		snap := p.prog.Snapshot(t0.Add(time.Minute))
		withoutCreated(&snap)
		got, err := json.MarshalIndent(snap, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if string(got)+"\n" != string(data) {
			t.Errorf("saved:\n%s\nwant:\n%s", got, data)
		}
	})
}

// withoutCreated clears the created timestamps, which the file predates
// (and which are wall-clock times), and says how many it cleared.
func withoutCreated(st *State) int {
	n := 0
	for i := range st.Rules {
		for j := range st.Rules[i].Series {
			s := &st.Rules[i].Series[j]
			if s.Created != 0 {
				n++
			}
			s.Created = 0
			if s.Dist != nil && s.Dist.Created != 0 {
				n++
				s.Dist.Created = 0
			}
		}
	}
	return n
}

// A restored series keeps the created timestamp it had: moving it to the
// restart would look like a reset to a Prometheus that ingests them.
func TestRestoredSeriesKeepTheirCreatedTimestamp(t *testing.T) {
	p := newPipeline(t)
	p.load(t, stateRules)
	p.process(stateLines, t0)
	saved := p.prog.Snapshot(t0)
	want := map[string]int64{}
	for _, fs := range saved.Rules {
		for _, s := range fs.Series {
			c := s.Created
			if s.Dist != nil {
				c = s.Dist.Created
			}
			want[fs.Name+"/"+strings.Join(s.Labels, ",")] = c
		}
	}
	later := newPipeline(t)
	later.load(t, stateRules)
	if n := later.prog.Restore(saved); n == 0 {
		t.Fatal("nothing restored")
	}
	again := later.prog.Snapshot(t0)
	checked := 0
	for _, fs := range again.Rules {
		for _, s := range fs.Series {
			c := s.Created
			if s.Dist != nil {
				c = s.Dist.Created
			}
			w, ok := want[fs.Name+"/"+strings.Join(s.Labels, ",")]
			if !ok || w == 0 {
				continue // gauges have none
			}
			checked++
			if c != w {
				t.Errorf("%s %v: created %d after the restore, want %d", fs.Name, s.Labels, c, w)
			}
		}
	}
	if checked == 0 {
		t.Error("no series with a created timestamp to compare")
	}
}
