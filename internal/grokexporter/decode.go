// Package grokexporter converts a grok_exporter configuration file
// (config_version 2 or 3) into an equivalent logmeter rule file: the job
// of `logmeter import grok_exporter`.
//
// Metrics become rule metrics; metrics that share a match (and retention
// and log file restriction) become one rule. Inline grok patterns become
// `patterns:`, pattern directories and files become `pattern_files:`.
// Settings without a logmeter equivalent are named in YAML comments of the
// output, never dropped silently.
package grokexporter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Options adjust how paths are resolved and written.
type Options struct {
	// BaseDir is what relative paths in the configuration (patterns_dir,
	// imports) are relative to. Empty means the configuration file's
	// directory. (grok_exporter itself resolves them against its working
	// directory, which usually is that directory.)
	BaseDir string
	// RulesDir is the directory the rule file will be saved in; pattern
	// files are then written relative to it. Empty means absolute paths.
	RulesDir string
}

// Error is a problem that stops the conversion, at a file position when
// one is known.
type Error struct {
	File      string
	Line, Col int // 0 when unknown
	Msg       string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Convert reads the grok_exporter configuration at path and returns the
// equivalent logmeter rule file. A read failure is returned as it is (it
// names the path); problems in the configuration as *Error.
func Convert(path string, opts Options) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	base := opts.BaseDir
	if base == "" {
		base = filepath.Dir(path)
	}
	cfg, err := parse(path, data, base)
	if err != nil {
		return nil, err
	}
	return cfg.write(opts.RulesDir)
}

// config is what the conversion keeps of a grok_exporter configuration.
type config struct {
	name     string // the configuration file's base name
	version  int
	notes    []string  // comments for the top of the rule file
	patterns []pattern // inline patterns, each name once, in first-seen order
	files    []string  // pattern files in load order, absolute
	metrics  []*metric
}

type pattern struct{ name, expr string }

type metric struct {
	file      string // where it was defined (the configuration or an import)
	line, col int

	typ, name, help, match string
	value                  *string
	cumulative             bool
	buckets                []float64
	quantiles              []objective // sorted by quantile; nil when not given
	maxAge                 time.Duration
	retention              time.Duration
	paths                  []string
	labels                 []label
	deleteMatch            string
	deleteLabels           []label
	notes                  []string
}

type label struct{ name, template string }

type objective struct{ quantile, err float64 }

// summaryMaxAge is client_golang's default summary window, which both
// grok_exporter (without max_age) and logmeter use.
const summaryMaxAge = 10 * time.Minute

// defaultQuantiles are grok_exporter's summary quantiles when a summary
// sets none.
func defaultQuantiles() []objective {
	return []objective{{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}}
}

// decoder walks YAML nodes of one file. The first problem wins: the
// conversion stops at one error, as grok_exporter does.
type decoder struct {
	file  string
	base  string
	state *state
}

type state struct {
	err     *Error
	version int
}

func (d *decoder) failf(n *yaml.Node, format string, args ...any) {
	if d.state.err != nil {
		return
	}
	e := &Error{File: d.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.state.err = e
}

func (d *decoder) failed() bool { return d.state.err != nil }

// document parses data as one YAML document and returns its top node, nil
// for an empty document (after reporting it).
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.state.err = &Error{File: d.file, Line: 1, Msg: "the file is empty"}
		} else {
			d.syntaxError(err)
		}
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		d.state.err = &Error{File: d.file, Line: 1, Msg: "the file is empty"}
		return nil
	}
	return resolve(doc.Content[0])
}

// syntaxError turns a yaml.v3 error ("yaml: line N: message") into an Error.
func (d *decoder) syntaxError(err error) {
	line, msg := 0, strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil && n > 0 {
				line, msg = n, text
			}
		}
	}
	d.state.err = &Error{File: d.file, Line: line, Msg: "invalid YAML: " + msg}
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

type field struct {
	name     string
	key, val *yaml.Node
}

// mapping returns the entries of mapping n (none for null).
func (d *decoder) mapping(n *yaml.Node, what string) []field {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.failf(n, "%s must be a mapping, got %s", what, describe(n))
		return nil
	}
	out := make([]field, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		out = append(out, field{name: k.Value, key: k, val: resolve(n.Content[i+1])})
	}
	return out
}

// sequence returns the items of sequence n (none for null).
func (d *decoder) sequence(n *yaml.Node, what string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.failf(n, "%s must be a list, got %s", what, describe(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}

// str returns scalar n as text ("" for null). Numbers and booleans are
// taken as written, as grok_exporter's YAML library does for strings.
func (d *decoder) str(n *yaml.Node, what string) string {
	n = resolve(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.failf(n, "%s must be text, got %s", what, describe(n))
		return ""
	}
	return n.Value
}

// strings returns a list of texts; a single text is a list of one.
func (d *decoder) strings(n *yaml.Node, what string) []string {
	if n = resolve(n); n != nil && n.Kind == yaml.ScalarNode && !isNull(n) {
		return []string{n.Value}
	}
	var out []string
	for _, it := range d.sequence(n, what) {
		out = append(out, d.str(it, "an entry of "+what))
	}
	return out
}

func (d *decoder) boolean(n *yaml.Node, what string) bool {
	var b bool
	if isNull(n) {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		d.failf(n, "%s must be true or false, got %s", what, describe(n))
	}
	return b
}

func (d *decoder) number(n *yaml.Node, what string) float64 {
	var f float64
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil {
		d.failf(n, "%s must be a number, got %s", what, describe(n))
		return 0
	}
	if math.IsNaN(f) {
		d.failf(n, "%s must not be NaN", what)
	}
	return f
}

func (d *decoder) integer(n *yaml.Node, what string) int {
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		d.failf(n, "%s must be a whole number, got %s", what, describe(n))
	}
	return i
}

// duration reads a Go duration such as 2h30m, the format grok_exporter
// documents for durations.
func (d *decoder) duration(n *yaml.Node, what string) time.Duration {
	if isNull(n) {
		return 0
	}
	s := d.str(n, what)
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		d.failf(n, "%s: %q is not a duration such as 90s, 10m or 2h30m", what, s)
	}
	return v
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.ShortTag() == "!!str" {
		return strconv.Quote(n.Value)
	}
	return n.Value
}

// Keys of each section, by config version.
func metricKeys(version int) []string {
	keys := []string{"type", "name", "help", "match", "labels", "value", "cumulative", "buckets",
		"quantiles", "retention", "delete_match", "delete_labels"}
	if version >= 3 {
		keys = append(keys, "path", "paths", "max_age")
	}
	return keys
}

func topKeys(version int) []string {
	if version >= 3 {
		return []string{"global", "input", "imports", "grok_patterns", "metrics", "server"}
	}
	return []string{"global", "input", "grok", "metrics", "server"}
}

func metricTypes() []string { return []string{"counter", "gauge", "histogram", "summary"} }

// parse decodes a grok_exporter configuration. base resolves relative paths.
func parse(file string, data []byte, base string) (*config, error) {
	st := &state{}
	d := &decoder{file: file, base: base, state: st}
	root := d.document(data)
	if root == nil {
		return nil, st.err
	}
	top := d.mapping(root, "a grok_exporter configuration")
	if d.failed() {
		return nil, st.err
	}
	cfg := &config{name: filepath.Base(file)}
	cfg.version = d.version(root, top)
	if d.failed() {
		return nil, st.err
	}
	st.version = cfg.version
	var metricsNode *yaml.Node
	for _, f := range top {
		if !slices.Contains(topKeys(cfg.version), f.name) {
			cfg.notes = append(cfg.notes, fmt.Sprintf("not carried over: %q is not a config_version %d section; grok_exporter ignores it too", f.name, cfg.version))
			continue
		}
		switch f.name {
		case "global":
			d.global(cfg, f.val)
		case "input":
			d.input(cfg, f.val)
		case "grok":
			d.grokV2(cfg, f.val)
		case "grok_patterns":
			for _, it := range d.sequence(f.val, "grok_patterns") {
				d.addPattern(cfg, it)
			}
		case "imports":
			d.imports(cfg, f.val)
		case "metrics":
			metricsNode = f.val
		case "server":
			d.server(cfg, f.val)
		}
	}
	// Metrics of the file come before imported ones, as in grok_exporter.
	own := d.metricList(metricsNode)
	cfg.metrics = append(own, cfg.metrics...)
	if d.failed() {
		return nil, st.err
	}
	if len(cfg.metrics) == 0 {
		n := metricsNode
		if n == nil {
			n = root
		}
		d.failf(n, "no metrics: grok_exporter needs at least one")
		return nil, st.err
	}
	if err := checkUnique(cfg.metrics); err != nil {
		return nil, err
	}
	cfg.patternNotes()
	return cfg, nil
}

// version finds global.config_version: 2 and 3 are supported.
func (d *decoder) version(root *yaml.Node, top []field) int {
	for _, f := range top {
		if f.name != "global" {
			continue
		}
		for _, g := range d.mapping(f.val, "global") {
			if g.name != "config_version" {
				continue
			}
			v := d.integer(g.val, "global.config_version")
			if d.failed() {
				return 0
			}
			if v != 2 && v != 3 {
				d.failf(g.val, "config_version %d is not supported (supported: 2 and 3)", v)
			}
			return v
		}
		d.failf(f.key, "global.config_version is missing: this is a config_version 1 file (grok_exporter 0.1.x), which is not supported (supported: 2 and 3)")
		return 0
	}
	d.failf(root, "global.config_version is missing: this is a config_version 1 file (grok_exporter 0.1.x), which is not supported (supported: 2 and 3)")
	return 0
}

func (d *decoder) global(cfg *config, n *yaml.Node) {
	for _, f := range d.mapping(n, "global") {
		switch f.name {
		case "config_version":
		case "retention_check_interval":
			v := d.duration(f.val, "global.retention_check_interval")
			cfg.notes = append(cfg.notes, fmt.Sprintf("not carried over: global.retention_check_interval %s: logmeter removes expired series on its own schedule", v))
		default:
			cfg.notes = append(cfg.notes, fmt.Sprintf("not carried over: global.%s is not a grok_exporter setting", f.name))
		}
	}
}

// input describes the input section in a comment: it belongs in logmeter's
// daemon configuration, not in a rule file.
func (d *decoder) input(cfg *config, n *yaml.Node) {
	var (
		typ, delim string
		paths      []string
		readall    bool
		extras     []string
	)
	for _, f := range d.mapping(n, "input") {
		switch f.name {
		case "type":
			typ = d.str(f.val, "input.type")
		case "path", "paths":
			paths = append(paths, d.strings(f.val, "input."+f.name)...)
		case "readall":
			readall = d.boolean(f.val, "input.readall")
		case "line_delimiter":
			delim = d.str(f.val, "input.line_delimiter")
		default: // fail_on_missing_logfile, poll_interval, webhook_*, kafka_*...
			extras = append(extras, f.name)
		}
	}
	if typ == "" {
		typ = "stdin"
	}
	var b strings.Builder
	switch typ {
	case "file":
		fmt.Fprintf(&b, "input: file %s. The files to read belong in the daemon configuration: inputs[].paths", strings.Join(paths, ", "))
		if readall {
			b.WriteString(", with start_at: beginning for readall: true")
		}
		if delim != "" {
			fmt.Fprintf(&b, ", and multiline: {start: %s} for line_delimiter", strconv.Quote(delim))
		}
		b.WriteString(".")
	case "stdin":
		b.WriteString("input: stdin. logmeter's daemon reads files; `logmeter test --rules FILE -` reads standard input once.")
	default:
		fmt.Fprintf(&b, "not carried over: input type %s: logmeter reads log files only.", typ)
	}
	if len(extras) > 0 {
		fmt.Fprintf(&b, " Not carried over: input.%s.", strings.Join(extras, ", input."))
	}
	cfg.notes = append(cfg.notes, b.String())
}

func (d *decoder) server(cfg *config, n *yaml.Node) {
	var settings []string
	for _, f := range d.mapping(n, "server") {
		if f.val.Kind == yaml.ScalarNode {
			settings = append(settings, f.name+" "+f.val.Value)
		} else {
			settings = append(settings, f.name)
		}
	}
	if len(settings) > 0 {
		cfg.notes = append(cfg.notes, fmt.Sprintf("server (%s): in logmeter the daemon configuration's server.listen and server.web_config (TLS) take its place; the path is always /metrics.", strings.Join(settings, ", ")))
	}
}

// grokV2 reads config_version 2's grok section.
func (d *decoder) grokV2(cfg *config, n *yaml.Node) {
	for _, f := range d.mapping(n, "grok") {
		switch f.name {
		case "patterns_dir":
			dir := d.str(f.val, "grok.patterns_dir")
			if dir != "" {
				d.addPatternDir(cfg, f.val, dir)
			}
		case "additional_patterns":
			for _, it := range d.sequence(f.val, "grok.additional_patterns") {
				d.addPattern(cfg, it)
			}
		default:
			cfg.notes = append(cfg.notes, fmt.Sprintf("not carried over: grok.%s is not a grok_exporter setting", f.name))
		}
	}
}

// addPattern adds an inline "NAME regex" definition; a later definition
// of a name replaces the earlier one, as in grok_exporter.
func (d *decoder) addPattern(cfg *config, n *yaml.Node) {
	s := d.str(n, "a grok pattern")
	if d.failed() {
		return
	}
	text := strings.TrimLeft(s, " \t")
	end := strings.IndexAny(text, " \t")
	if end <= 0 {
		d.failf(n, "grok pattern %q must be NAME followed by a regular expression", s)
		return
	}
	name, expr := text[:end], strings.TrimLeft(text[end:], " \t")
	if !isPatternName(name) || expr == "" {
		d.failf(n, "grok pattern %q must be NAME followed by a regular expression (NAME: letters, digits, _)", s)
		return
	}
	for i := range cfg.patterns {
		if cfg.patterns[i].name == name {
			cfg.patterns[i].expr = expr
			return
		}
	}
	cfg.patterns = append(cfg.patterns, pattern{name, expr})
}

func isPatternName(s string) bool {
	for _, c := range s {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// abs resolves p against the base directory and makes it absolute.
func (d *decoder) abs(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.base, p)
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// addPatternDir adds the files of a pattern directory in name order, the
// order grok_exporter loads them in.
func (d *decoder) addPatternDir(cfg *config, n *yaml.Node, dir string) {
	files, skipped, err := listDir(d.abs(dir))
	if err != nil {
		d.failf(n, "pattern directory %s: %v", dir, err)
		return
	}
	if len(skipped) > 0 {
		cfg.notes = append(cfg.notes, fmt.Sprintf("not carried over: the subdirectories %s of pattern directory %s (grok_exporter cannot load directories as pattern files)", strings.Join(skipped, ", "), dir))
	}
	cfg.addFiles(files)
}

// addPatternGlob adds the pattern files a glob matches, in name order.
func (d *decoder) addPatternGlob(cfg *config, n *yaml.Node, glob string) {
	files, err := globFiles(d.abs(glob))
	if err != nil {
		d.failf(n, "pattern file %s: %v", glob, err)
		return
	}
	cfg.addFiles(files)
}

func (cfg *config) addFiles(files []string) {
	for _, f := range files {
		// Loading a file twice changes nothing the second time unless
		// another file came between; keep the last position then.
		cfg.files = slices.DeleteFunc(cfg.files, func(g string) bool { return g == f })
		cfg.files = append(cfg.files, f)
	}
}

// listDir returns the files in dir, sorted, and the names of subdirectories.
func listDir(dir string) (files, subdirs []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, unwrapPath(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		st, err := os.Stat(p) // follows symbolic links
		if err != nil {
			return nil, nil, unwrapPath(err)
		}
		if st.IsDir() {
			subdirs = append(subdirs, e.Name())
			continue
		}
		files = append(files, p)
	}
	if len(files) == 0 {
		return nil, nil, errors.New("no files in it")
	}
	return files, subdirs, nil
}

// globFiles returns the files a glob matches, sorted; at least one.
func globFiles(glob string) ([]string, error) {
	matches, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, m := range matches {
		st, err := os.Stat(m)
		if err != nil {
			return nil, unwrapPath(err)
		}
		if !st.IsDir() {
			files = append(files, m)
		}
	}
	if len(files) == 0 {
		return nil, errors.New("no file matches")
	}
	sort.Strings(files)
	return files, nil
}

// unwrapPath drops the path from *fs.PathError messages, which name it
// already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// imports reads config_version 3's imports section.
func (d *decoder) imports(cfg *config, n *yaml.Node) {
	for _, it := range d.sequence(n, "imports") {
		var (
			typ, dir, file string
			dirNode        *yaml.Node
			fileNode       *yaml.Node
			defaults       *yaml.Node
		)
		for _, f := range d.mapping(it, "an imports entry") {
			switch f.name {
			case "type":
				typ = d.str(f.val, "imports.type")
			case "dir":
				dir, dirNode = d.str(f.val, "imports.dir"), f.val
			case "file":
				file, fileNode = d.str(f.val, "imports.file"), f.val
			case "defaults":
				defaults = f.val
			default:
				cfg.notes = append(cfg.notes, fmt.Sprintf("not carried over: imports.%s is not a grok_exporter setting", f.name))
			}
		}
		if d.failed() {
			return
		}
		switch {
		case typ != "grok_patterns" && typ != "metrics":
			d.failf(it, "imports.type must be grok_patterns or metrics, got %q", typ)
		case (dir == "") == (file == ""):
			d.failf(it, "an imports entry needs either dir or file")
		case typ == "grok_patterns" && !isNull(defaults):
			d.failf(defaults, "imports.defaults is only valid for type metrics")
		case typ == "grok_patterns" && dir != "":
			d.addPatternDir(cfg, dirNode, dir)
		case typ == "grok_patterns":
			d.addPatternGlob(cfg, fileNode, file)
		default:
			var files []string
			var err error
			where := fileNode
			if dir != "" {
				files, _, err = listDir(d.abs(dir))
				where = dirNode
			} else {
				files, err = globFiles(d.abs(file))
			}
			if err != nil {
				d.failf(where, "metrics import %s: %v", dir+file, err)
				return
			}
			def := d.metricDefaults(defaults)
			for _, f := range files {
				for _, m := range d.importMetrics(f) {
					def.apply(m)
					cfg.metrics = append(cfg.metrics, m)
				}
			}
		}
	}
}

// importMetrics reads a metrics file of an import: a list of metrics.
func (d *decoder) importMetrics(path string) []*metric {
	data, err := os.ReadFile(path)
	if err != nil {
		d.state.err = &Error{File: path, Msg: unwrapPath(err).Error()}
		return nil
	}
	sub := &decoder{file: path, base: d.base, state: d.state}
	root := sub.document(data)
	if root == nil {
		return nil
	}
	return sub.metricList(root)
}

// defaults are an import's defaults for the metrics it reads.
type defaults struct {
	paths     []string
	retention time.Duration
	buckets   []float64
	quantiles []objective
	maxAge    time.Duration
	labels    []label
}

func (d *decoder) metricDefaults(n *yaml.Node) defaults {
	var def defaults
	for _, f := range d.mapping(n, "imports.defaults") {
		switch f.name {
		case "path", "paths":
			def.paths = append(def.paths, d.strings(f.val, "imports.defaults."+f.name)...)
		case "retention":
			def.retention = d.duration(f.val, "imports.defaults.retention")
		case "buckets":
			def.buckets = d.buckets(f.val)
		case "quantiles":
			def.quantiles = d.quantiles(f.val)
		case "max_age":
			def.maxAge = d.duration(f.val, "imports.defaults.max_age")
		case "labels":
			def.labels = d.labels(f.val, "imports.defaults.labels")
		default:
			d.failf(f.key, "unknown key imports.defaults.%s (valid: path, paths, retention, buckets, quantiles, max_age, labels)", f.name)
		}
	}
	return def
}

// apply fills in what m does not set itself, as grok_exporter does.
func (def defaults) apply(m *metric) {
	for _, l := range def.labels {
		if !slices.ContainsFunc(m.labels, func(o label) bool { return o.name == l.name }) {
			m.labels = append(m.labels, l)
		}
	}
	if m.typ == "summary" && m.quantiles == nil {
		m.quantiles = def.quantiles
	}
	if m.typ == "summary" && m.maxAge == 0 {
		m.maxAge = def.maxAge
	}
	if m.typ == "histogram" && m.buckets == nil {
		m.buckets = def.buckets
	}
	if m.retention == 0 {
		m.retention = def.retention
	}
	if len(m.paths) == 0 {
		m.paths = def.paths
	}
}

func (d *decoder) metricList(n *yaml.Node) []*metric {
	var out []*metric
	for _, it := range d.sequence(n, "metrics") {
		if m := d.metric(it); m != nil {
			out = append(out, m)
		}
		if d.failed() {
			return nil
		}
	}
	return out
}

func (d *decoder) metric(n *yaml.Node) *metric {
	m := &metric{file: d.file, line: n.Line, col: n.Column}
	fields := d.mapping(n, "a metric")
	if d.failed() {
		return nil
	}
	keys := map[string]*yaml.Node{}
	for _, f := range fields {
		if !slices.Contains(metricKeys(d.state.version), f.name) {
			m.notes = append(m.notes, fmt.Sprintf("not carried over: %q is not a config_version %d metric setting; grok_exporter ignores it too", f.name, d.state.version))
			continue
		}
		keys[f.name] = f.key
		switch f.name {
		case "type":
			m.typ = d.str(f.val, "type")
			if !slices.Contains(metricTypes(), m.typ) {
				d.failf(f.val, "unknown metric type %q (valid: %s)", m.typ, strings.Join(metricTypes(), ", "))
			}
		case "name":
			m.name = d.str(f.val, "name")
		case "help":
			m.help = d.str(f.val, "help")
		case "match":
			m.match = d.str(f.val, "match")
		case "value":
			v := d.str(f.val, "value")
			m.value = &v
		case "cumulative":
			m.cumulative = d.boolean(f.val, "cumulative")
		case "buckets":
			m.buckets = d.buckets(f.val)
		case "quantiles":
			m.quantiles = d.quantiles(f.val)
		case "max_age":
			m.maxAge = d.duration(f.val, "max_age")
		case "retention":
			m.retention = d.duration(f.val, "retention")
		case "path", "paths":
			m.paths = append(m.paths, d.strings(f.val, f.name)...)
		case "labels":
			m.labels = d.labels(f.val, "labels")
		case "delete_match":
			m.deleteMatch = d.str(f.val, "delete_match")
		case "delete_labels":
			m.deleteLabels = d.labels(f.val, "delete_labels")
		}
		if d.failed() {
			return nil
		}
	}
	for _, k := range []string{"name", "type", "match"} {
		if keys[k] == nil || (k == "name" && m.name == "") || (k == "match" && m.match == "") {
			d.failf(n, "metric %sneeds a %q", quoteSp(m.name), k)
			return nil
		}
	}
	// What grok_exporter itself refuses is an error here too: there is no
	// behaviour to carry over.
	only := []struct{ key, typ string }{
		{"cumulative", "gauge"}, {"buckets", "histogram"}, {"quantiles", "summary"}, {"max_age", "summary"},
	}
	for _, o := range only {
		if k := keys[o.key]; k != nil && m.typ != o.typ {
			d.failf(k, "%s is only valid for %s metrics, not %s", o.key, o.typ, m.typ)
			return nil
		}
	}
	switch {
	case m.typ != "counter" && (m.value == nil || *m.value == ""):
		d.failf(n, "%s %sneeds a \"value\"", m.typ, quoteSp(m.name))
	case m.typ == "counter" && m.value != nil && d.state.version < 3:
		d.failf(keys["value"], "a counter's value needs config_version 3; in config_version 2 a counter counts lines")
	case m.deleteLabels != nil && m.deleteMatch == "":
		d.failf(keys["delete_labels"], "delete_labels needs delete_match")
	}
	return m
}

func quoteSp(name string) string {
	if name == "" {
		return ""
	}
	return strconv.Quote(name) + " "
}

func (d *decoder) labels(n *yaml.Node, what string) []label {
	var out []label
	for _, f := range d.mapping(n, what) {
		out = append(out, label{name: f.name, template: d.str(f.val, "label "+f.name)})
	}
	if out == nil && !d.failed() {
		out = []label{}
	}
	return out
}

func (d *decoder) buckets(n *yaml.Node) []float64 {
	var out []float64
	for _, it := range d.sequence(n, "buckets") {
		out = append(out, d.number(it, "a bucket"))
	}
	return out
}

func (d *decoder) quantiles(n *yaml.Node) []objective {
	var out []objective
	for _, f := range d.mapping(n, "quantiles") {
		q := d.number(f.key, "a quantile")
		e := d.number(f.val, "the error of a quantile")
		out = append(out, objective{q, e})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].quantile < out[j].quantile })
	return out
}

// checkUnique refuses a metric name defined twice, as grok_exporter does.
func checkUnique(ms []*metric) error {
	first := map[string]*metric{}
	for _, m := range ms {
		if p, dup := first[m.name]; dup {
			return &Error{File: m.file, Line: m.line, Col: m.col, Msg: fmt.Sprintf("metric %q is defined twice (first at %s:%d)", m.name, p.file, p.line)}
		}
		first[m.name] = m
	}
	return nil
}

// patternNotes points out inline patterns that a pattern file defines too:
// grok_exporter lets the inline definition win, logmeter the file's.
func (cfg *config) patternNotes() {
	if len(cfg.patterns) == 0 || len(cfg.files) == 0 {
		return
	}
	inline := map[string]bool{}
	for _, p := range cfg.patterns {
		inline[p.name] = true
	}
	for _, f := range cfg.files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // logmeter check reports it
		}
		var both []string
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) >= 2 && !strings.HasPrefix(fields[0], "#") && inline[fields[0]] && !slices.Contains(both, fields[0]) {
				both = append(both, fields[0])
			}
		}
		if len(both) > 0 {
			cfg.notes = append(cfg.notes, fmt.Sprintf("check: %s defines %s too; grok_exporter uses the inline definition, logmeter lets pattern_files replace patterns", filepath.Base(f), strings.Join(both, ", ")))
		}
	}
}
