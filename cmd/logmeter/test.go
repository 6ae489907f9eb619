package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/kube"
	"github.com/logmeter/logmeter/pkg/logline"
	"github.com/logmeter/logmeter/pkg/metrics"
	"github.com/logmeter/logmeter/pkg/tail"
)

// cmdTest reads log files once, to their end, through the same decode, match
// and metrics code as the daemon, and prints the resulting metrics. Given
// rule unit test files (NAME_test.yaml) instead, it runs those: see
// cmdTestFiles.
func cmdTest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var rules stringList
	fs.Var(&rules, "rules", "rule file or glob (repeatable); not with test files (FILE_test.yaml), which name their rule files")
	format := fs.String("format", "auto", "log format: auto, plain, cri or docker")
	explain := fs.Bool("explain", false, "print, per line, the rules that matched and their captures (or why none did) on stderr")
	input := fs.String("input", "", "input name the lines are read as (for rules with sources.inputs); empty fits every rule")
	maxLine := fs.Int("max-line-bytes", tail.DefaultMaxLineBytes, "longer lines are truncated and counted as decode errors")
	selfMetrics := fs.Bool("self-metrics", true, "also print logmeter_* metrics (lines read, matched, decode errors...)")
	logFiles, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(logFiles, config.IsRuleTestFile) {
		return cmdTestFiles(fs, logFiles, *maxLine, *explain, stdout, stderr)
	}
	if len(rules) == 0 {
		return &exitError{code: 2, msg: "test: no rule file given (use --rules FILE)"}
	}
	if len(logFiles) == 0 {
		return &exitError{code: 2, msg: "test: no log file given (use - for standard input)"}
	}
	if *maxLine <= 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("test: --max-line-bytes must be positive, not %d", *maxLine)}
	}
	f, err := tail.ParseFormat(*format)
	if err != nil {
		return &exitError{code: 2, msg: "test: " + err.Error()}
	}

	promReg := prometheus.NewRegistry()
	selfReg := prometheus.NewRegistry()
	self, err := metrics.NewSelf(selfReg, version, revision())
	if err != nil {
		return err
	}
	reg := metrics.NewRegistry(self)
	prog, _, err := loadProgram(rules, reg, self)
	if err != nil {
		return problemsExit(err, stderr)
	}
	if err := reg.Swap(prog.Families()); err != nil {
		return err
	}
	if err := promReg.Register(reg); err != nil {
		return err
	}

	runner := prog.NewRunner()
	if *input == "" {
		runner.InputLabel = "test"
	}
	t := &oneShot{
		runner:  runner,
		self:    self,
		format:  f,
		input:   *input,
		maxLine: *maxLine,
		now:     time.Now(),
	}
	if *explain {
		t.explain = stderr
	}
	for _, path := range logFiles {
		if err := t.file(path); err != nil {
			return err
		}
	}

	gatherers := prometheus.Gatherers{promReg}
	if *selfMetrics {
		gatherers = append(gatherers, selfReg)
	}
	mfs, err := gatherers.Gather()
	if err != nil {
		return fmt.Errorf("gather metrics: %w", err)
	}
	enc := expfmt.NewEncoder(stdout, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "logmeter_") && !oneShotSelfMetric(mf.GetName()) {
			continue
		}
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	return nil
}

// oneShotSelfMetric reports the self-metrics that mean something for a
// single pass over files; the daemon's (forwarding, files watched, reloads)
// would only print zeros.
func oneShotSelfMetric(name string) bool {
	switch name {
	case "logmeter_lines_read_total", "logmeter_bytes_read_total",
		"logmeter_lines_matched_total", "logmeter_lines_unmatched_total",
		"logmeter_decode_errors_total", "logmeter_value_errors_total",
		"logmeter_series_dropped_total", "logmeter_series":
		return true
	}
	return false
}

// oneShot feeds files through decoding and the rules once.
type oneShot struct {
	runner  *metrics.Runner
	self    *metrics.Self
	format  tail.Format
	input   string
	maxLine int
	now     time.Time
	explain io.Writer
	hits    []metrics.Hit
	kube    kube.Enricher
	// meta, when set, is the pod metadata of every line instead of what
	// the file name gives.
	meta *logline.Kube
	// where names a line in --explain output; nil: "name:physical line".
	where func(name string, physical int) string
	// unmatched counts the lines no rule matched.
	unmatched int
}

func (t *oneShot) file(path string) error {
	var r io.Reader = os.Stdin
	name := "-"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return &exitError{code: 2, msg: "test: " + err.Error()}
		}
		defer f.Close()
		r, name = f, path
	}
	return t.read(r, name)
}

// read feeds the lines of r, read from the file name, through decoding and
// the rules.
func (t *oneShot) read(r io.Reader, name string) error {
	// The self-metrics need an input name even when the lines are not read
	// as a configured input.
	inputLabel := t.input
	if inputLabel == "" {
		inputLabel = "test"
	}
	linesRead := t.self.LinesRead.WithLabelValues(inputLabel)
	bytesRead := t.self.BytesRead.WithLabelValues(inputLabel)
	dec := tail.NewDecoder(t.format, t.maxLine)
	// The reader's limit leaves room for CRI/docker framing around a
	// message of max-line-bytes; the decoder enforces the message limit.
	lr := tail.NewLineReader(r, t.maxLine+64<<10)
	line := logline.Line{Input: t.input, Source: name, Kube: t.meta}
	physical := 0
	for {
		raw, off, size, truncated, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &exitError{code: 2, msg: fmt.Sprintf("test: %s: %v", name, err)}
		}
		physical++
		bytesRead.Add(float64(size))
		done, reason := dec.Decode(raw, off, &line)
		if truncated && reason == "" {
			reason = tail.ReasonTooLong
		}
		if reason != "" {
			t.self.DecodeErrors.WithLabelValues(inputLabel, reason).Inc()
			if t.explain != nil {
				fmt.Fprintf(t.explain, "%s: decode error: %s\n", t.at(name, physical), reason)
			}
		}
		if done {
			linesRead.Inc()
			t.process(&line, name, physical)
		}
	}
	if dec.Flush(&line) {
		linesRead.Inc()
		t.process(&line, name, physical)
	}
	return nil
}

func (t *oneShot) process(line *logline.Line, name string, physical int) {
	t.kube.Enrich(line) // pod metadata from kubelet-style file names
	if t.explain == nil {
		if t.runner.Process(line, t.now, nil) == 0 {
			t.unmatched++
		}
		return
	}
	t.hits = t.hits[:0]
	if t.runner.Process(line, t.now, &t.hits) > 0 {
		for _, h := range t.hits {
			fmt.Fprintf(t.explain, "%s: rule %s matched:%s\n", t.at(name, physical), h.Rule, captures(line.Text, h))
		}
		return
	}
	t.unmatched++
	rule, d, ok := t.runner.Diagnose(line)
	if !ok {
		fmt.Fprintf(t.explain, "%s: no rule applies\n", t.at(name, physical))
		return
	}
	fmt.Fprintf(t.explain, "%s: no rule matched; closest is %s: it matched %s, then expected %s\n",
		t.at(name, physical), rule, strconv.Quote(string(line.Text[:d.Consumed])), d.Expected)
}

// at names a physical line for --explain.
func (t *oneShot) at(name string, physical int) string {
	if t.where != nil {
		return t.where(name, physical)
	}
	return name + ":" + strconv.Itoa(physical)
}

func captures(text []byte, h metrics.Hit) string {
	var b strings.Builder
	for i, f := range h.Fields {
		s, e := h.Captures[2*i], h.Captures[2*i+1]
		if s < 0 {
			continue
		}
		fmt.Fprintf(&b, " %s=%s", f.Name, strconv.Quote(string(text[s:e])))
	}
	return b.String()
}
