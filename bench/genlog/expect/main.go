// Command expect computes, without logmeter, the metric samples the rule
// files in rules/ should produce for a log file; it writes the
// examples/logs/*.expected files. It decodes plain, CRI and docker json-file
// logs itself (joining partial records) and parses each line with its own
// hand-written code, not with grok, so a disagreement with
// `logmeter test --rules rules/KIND.yaml FILE` points at a bug in one of
// the two.
//
//	go run ./bench/genlog/expect -kind nginx examples/logs/nginx-timed.log
//
// Output: one Prometheus text-format sample per line, without HELP and TYPE
// lines, sorted; histograms as _count and _sum per label set. Numbers are
// formatted as the Prometheus text format does (strconv 'g', shortest).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

type series struct {
	kind  string // counter, gauge, histogram
	value float64
	count float64 // histograms only
}

type metrics map[string]*series // key: name{labels}

func (m metrics) add(name, labels string, v float64) {
	s := m.get(name, labels, "counter")
	s.value += v
}

func (m metrics) set(name, labels string, v float64) {
	m.get(name, labels, "gauge").value = v
}

func (m metrics) observe(name, labels string, v float64) {
	s := m.get(name, labels, "histogram")
	s.value += v
	s.count++
}

func (m metrics) get(name, labels, kind string) *series {
	key := name + "\x00" + labels
	s := m[key]
	if s == nil {
		s = &series{kind: kind}
		m[key] = s
	}
	return s
}

func (m metrics) print() {
	var out []string
	for key, s := range m {
		name, labels, _ := strings.Cut(key, "\x00")
		if labels != "" {
			labels = "{" + labels + "}"
		}
		if s.kind == "histogram" {
			out = append(out, name+"_count"+labels+" "+num(s.count), name+"_sum"+labels+" "+num(s.value))
		} else {
			out = append(out, name+labels+" "+num(s.value))
		}
	}
	sort.Strings(out)
	for _, l := range out {
		fmt.Println(l)
	}
}

// total is the number of updates so far: every matched line updates one
// series by one (the requests or messages counter), or one histogram count.
func (m metrics) total() float64 {
	var t float64
	for key, s := range m {
		name, _, _ := strings.Cut(key, "\x00")
		if strings.HasSuffix(name, "_requests_total") || strings.HasSuffix(name, "_messages_total") {
			t += s.value
		}
	}
	return t
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func parse(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return f
}

func main() {
	kind := flag.String("kind", "nginx", "rule file the samples are for: nginx, apache, kubernetes or app")
	summary := flag.Bool("summary", false, "print only the number of logical lines and how many of them the rules match")
	flag.Parse()
	var handle func(metrics, string)
	switch *kind {
	case "nginx":
		handle = nginx
	case "apache":
		handle = apache
	case "kubernetes":
		handle = klog
	case "app":
		handle = app
	default:
		fmt.Fprintln(os.Stderr, "expect: unknown -kind", *kind)
		os.Exit(2)
	}
	m := metrics{}
	var lines, matched int
	for _, file := range flag.Args() {
		err := decode(file, func(line string) {
			lines++
			before := m.total()
			handle(m, line)
			if m.total() != before {
				matched++
			}
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "expect:", err)
			os.Exit(1)
		}
	}
	if *summary {
		fmt.Printf("lines %d matched %d unmatched %d\n", lines, matched, lines-matched)
		return
	}
	m.print()
}

// decode calls fn for every logical line of file, whose format it guesses
// from the first line.
func decode(file string, fn func(string)) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var format string
	var pending strings.Builder
	for sc.Scan() {
		raw := sc.Text()
		if format == "" {
			switch {
			case strings.HasPrefix(raw, `{"log":`):
				format = "docker"
			case criLine.MatchString(raw):
				format = "cri"
			default:
				format = "plain"
			}
		}
		switch format {
		case "plain":
			fn(raw)
		case "cri":
			// timestamp SP stream SP tag SP message
			fields := strings.SplitN(raw, " ", 4)
			if len(fields) < 3 {
				return fmt.Errorf("%s: bad CRI line %q", file, raw)
			}
			msg := ""
			if len(fields) == 4 {
				msg = fields[3]
			}
			pending.WriteString(msg)
			if fields[2] == "F" {
				fn(pending.String())
				pending.Reset()
			}
		case "docker":
			var rec struct{ Log string }
			if err := json.Unmarshal([]byte(raw), &rec); err != nil {
				return fmt.Errorf("%s: %v", file, err)
			}
			pending.WriteString(rec.Log)
			if strings.HasSuffix(rec.Log, "\n") {
				fn(strings.TrimSuffix(pending.String(), "\n"))
				pending.Reset()
			}
		}
	}
	return sc.Err()
}

var criLine = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T\S+ (stdout|stderr) [PF]( |$)`)

// Access logs: a request line of the form METHOD SP TARGET SP HTTP/VERSION
// gives the method label; any other (escaped) request text, such as "-" or
// a TLS handshake, counts with method "-".
var (
	accessHead  = regexp.MustCompile(`^\S+ - \S+ \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\] "(?:([A-Za-z0-9_]+) [^\s"]+ HTTP/[0-9]+(?:\.[0-9]+)?|(?:[^"\\]|\\.)*)" ([0-9]+) ([0-9]+|-)`)
	quotedPair  = regexp.MustCompile(`^ "[^"]*" "[^"]*"`)
	upstreamSeq = regexp.MustCompile(`^(-|[0-9.]+)((, | : )(-|[0-9.]+))*$`)
)

func nginx(m metrics, line string) {
	h := accessHead.FindStringSubmatch(line)
	if h == nil || h[3] == "-" {
		return
	}
	rest := line[len(h[0]):]
	q := quotedPair.FindString(rest)
	if q == "" {
		return
	}
	rest = rest[len(q):]
	method, status, bytes := h[1], h[2], h[3]
	malformed := method == ""
	if malformed {
		method = "-"
	}
	timed := rest != ""
	var rt string
	if timed {
		// " request_time" optionally followed by " upstream_response_time".
		f := strings.SplitN(strings.TrimPrefix(rest, " "), " ", 2)
		if !strings.HasPrefix(rest, " ") || !isNumber(f[0]) || (len(f) == 2 && !upstreamSeq.MatchString(f[1])) {
			return
		}
		rt = f[0]
	}
	m.add("nginx_http_requests_total", `method="`+method+`",status="`+status+`"`, 1)
	m.add("nginx_http_response_bytes_total", `method="`+method+`"`, parse(bytes))
	// Requests nginx could not parse stay out of the request-time metrics.
	if timed && !malformed {
		m.observe("nginx_http_request_duration_seconds", `method="`+method+`"`, parse(rt))
		m.set("nginx_http_last_request_duration_seconds", "", parse(rt))
	}
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && s != "" && !strings.ContainsAny(s, "eEinfINFxX_")
}

func apache(m metrics, line string) {
	h := accessHead.FindStringSubmatch(line)
	if h == nil {
		return
	}
	rest := line[len(h[0]):]
	if rest != "" && quotedPair.FindString(rest) != rest {
		return
	}
	method, bytes := h[1], h[3]
	if method == "" {
		method = "-"
	}
	if bytes == "-" {
		bytes = "0"
	}
	m.add("apache_http_requests_total", `method="`+method+`",status="`+h[2]+`"`, 1)
	m.add("apache_http_response_bytes_total", `method="`+method+`"`, parse(bytes))
}

var klogHead = regexp.MustCompile(`^([IWEF])[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} +[0-9]+ ([^\s:\]]+):[0-9]+\]`)

func klog(m metrics, line string) {
	h := klogHead.FindStringSubmatch(line)
	if h == nil {
		return
	}
	sev := map[string]string{"I": "info", "W": "warning", "E": "error", "F": "fatal"}[h[1]]
	m.add("klog_messages_total", `severity="`+sev+`",source_file="`+h[2]+`"`, 1)
}

// javaHead: a date and time, or only the time (logback's and log4j 2's
// default console pattern), an optional [thread], the level.
var javaHead = regexp.MustCompile(`^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}[T ])?[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})? +(?:\[[^\]]*\] +)?([A-Za-z]+)`)

// consoleLevel returns the level of a line of zap's console encoder: an
// ISO 8601 or epoch timestamp, a tab, the level (maybe colored), a tab.
func consoleLevel(line string) string {
	f := strings.SplitN(line, "\t", 3)
	if len(f) < 3 {
		return ""
	}
	_, errISO := time.Parse("2006-01-02T15:04:05.999999999Z0700", f[0])
	if _, errEpoch := strconv.ParseFloat(f[0], 64); errISO != nil && errEpoch != nil {
		return ""
	}
	level := f[1]
	if strings.HasPrefix(level, "\x1b[") {
		level = level[strings.IndexByte(level, 'm')+1:]
		level, _, _ = strings.Cut(level, "\x1b")
	}
	return level
}

func app(m metrics, line string) {
	var level string
	switch {
	case strings.HasPrefix(line, "{"):
		// The top-level "level", ECS's "log.level", or ECS's nested
		// {"log":{"level":...}}; a "level" in a nested object is no level.
		var obj map[string]any
		if json.Unmarshal([]byte(line), &obj) != nil {
			return
		}
		var ok bool
		if level, ok = obj["level"].(string); !ok {
			if level, ok = obj["log.level"].(string); !ok {
				log, _ := obj["log"].(map[string]any)
				level, _ = log["level"].(string)
			}
		}
	case consoleLevel(line) != "":
		level = consoleLevel(line)
	case javaHead.MatchString(line):
		level = javaHead.FindStringSubmatch(line)[1]
	default:
		level = logfmtLevel(line)
	}
	// log/slog prints custom levels as an offset from a named one.
	if i := strings.IndexAny(level, "+-"); i > 0 {
		level = level[:i]
	}
	switch strings.ToLower(level) {
	case "trace":
		level = "trace"
	case "debug":
		level = "debug"
	case "info":
		level = "info"
	case "warn", "warning":
		level = "warn"
	case "error", "err":
		level = "error"
	case "fatal":
		level = "fatal"
	case "panic", "dpanic":
		level = "panic"
	default:
		return
	}
	m.add("app_log_messages_total", `level="`+level+`"`, 1)
}

// logfmtLevel walks key=value pairs from the start of line and returns the
// value of the first "level" key, or "" when line is not logfmt.
func logfmtLevel(line string) string {
	s := line
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || strings.ContainsAny(s[:eq], " \t\"") {
			return ""
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return ""
			}
			val, s = s[:end+1], s[end+1:]
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
		}
		if key == "level" {
			return val
		}
		if s != "" && s[0] != ' ' {
			return ""
		}
		s = strings.TrimLeft(s, " ")
	}
	return ""
}
