package metrics

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/logmeter/logmeter/pkg/logline"
)

// testEnv matches re against text and returns the fields and the Env a
// rule would hand to its templates.
func testEnv(t testing.TB, re, text string, line *logline.Line) ([]string, *Env) {
	t.Helper()
	r := regexp.MustCompile(re)
	caps := r.FindStringSubmatchIndex(text)
	if caps == nil {
		t.Fatalf("%q does not match %q", re, text)
	}
	return r.SubexpNames(), &Env{Text: []byte(text), Caps: caps, Line: line}
}

func TestTemplateRender(t *testing.T) {
	const re = `(?P<method>\w+) (?P<path>\S+) (?P<status>\d+) (?P<ms>\d+)(?: (?P<opt>x))?(?: (?P<a_b>\S+))?`
	const text = "GET /shop/cart.html 404 1500 2024-05-01T12:00:00,250Z"
	line := &logline.Line{Input: "nginx", Stream: "stdout", Source: "/var/log/pods/shop_web/nginx/0.log",
		Kube: &logline.Kube{Namespace: "shop", Pod: "web-1", PodUID: "u-1", Container: "nginx", Node: "n1",
			Labels: map[string]string{"app": "web"}}}
	tests := []struct {
		name     string
		tmpl     string
		line     *logline.Line
		want     string
		fast     bool
		constant bool
	}{
		{"empty", "", line, "", true, true},
		{"constant", "shop", line, "shop", true, true},
		{"one capture", "{{.status}}", line, "404", true, false},
		{"spaces in braces", "{{ .status }}", line, "404", true, false},
		{"trim markers", "a {{- .status -}} b", line, "a404b", true, false},
		{"concat", "{{.method}} {{.status}}!", line, "GET 404!", true, false},
		{"kubernetes fields", "{{.kubernetes.namespace}}/{{.kubernetes.pod}}/{{.kubernetes.pod_uid}}/{{.kubernetes.container}}/{{.kubernetes.node}}", line, "shop/web-1/u-1/nginx/n1", true, false},
		{"pod label", "{{.kubernetes.labels.app}}", line, "web", true, false},
		{"missing pod label", "[{{.kubernetes.labels.tier}}]", line, "[]", true, false},
		{"input stream logfile", "{{.input}} {{.stream}} {{.logfile}}", line, "nginx stdout /var/log/pods/shop_web/nginx/0.log", true, false},
		{"no line metadata", "[{{.input}}{{.kubernetes.namespace}}]", nil, "[]", true, false},
		{"no kube metadata", "[{{.kubernetes.labels.app}}]", &logline.Line{Input: "x"}, "[]", true, false},
		{"capture that did not participate", "[{{.opt}}]", line, "[]", true, false},
		{"base", "{{base .logfile}}", line, "0.log", false, false},
		{"gsub", `{{gsub .path "\\.html$" ""}}`, line, "/shop/cart", false, false},
		{"gsub backreference", `{{gsub .path "^/(\\w+)/(.*)$" "\\2@\\1 $"}}`, line, "cart.html@shop $", false, false},
		{"gsub named backreference", `{{gsub .path "^/(?P<top>\\w+)/.*" "\\k<top>"}}`, line, "shop", false, false},
		{"divide", "{{divide .ms 1000}}", line, "1.5", false, false},
		{"multiply string", `{{multiply .ms "2"}}`, line, "3000", false, false},
		{"add subtract", "{{add (subtract .ms 500) 1}}", line, "1001", false, false},
		{"if", `{{if eq .status "404"}}missing{{else}}other{{end}}`, line, "missing", false, false},
		{"pipeline", `{{.method | printf "%s!"}}`, line, "GET!", false, false},
		{"index non-identifier", `{{index . "a_b" | printf "%.10s"}}`, line, "2024-05-01", false, false},
		{"general sees kubernetes", `{{with .kubernetes}}{{.namespace}}{{end}}`, line, "shop", false, false},
		{"general without kube", `{{printf "[%s]" .kubernetes.labels.app}}`, &logline.Line{}, "[]", false, false},
		{"timestamp", `{{timestamp "2006-01-02T15:04:05,000Z07:00" (index . "a_b")}}`, line, "1.71456480025e+09", false, false},
		{"range over labels", `{{range $k, $v := .kubernetes.labels}}{{$k}}={{$v}}{{end}}`, line, "app=web", false, false},
		{"root variable", `{{with .method}}{{$.status}}{{end}}`, line, "404", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, env := testEnv(t, re, text, tt.line)
			env.Line = tt.line
			tm, err := CompileTemplate(tt.tmpl, fields)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tm.Render([]byte("prefix:"), env)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "prefix:"+tt.want {
				t.Errorf("Render = %q, want %q", got, "prefix:"+tt.want)
			}
			if fast := tm.general == nil; fast != tt.fast {
				t.Errorf("fast path = %v, want %v", fast, tt.fast)
			}
			if tm.IsConstant() != tt.constant {
				t.Errorf("IsConstant = %v, want %v", tm.IsConstant(), tt.constant)
			}
		})
	}
}

// Fields are numbered like regexp groups; a name used twice resolves to
// whichever group took part in the match.
func TestTemplateDuplicateNames(t *testing.T) {
	fields := []string{"", "code", "code"}
	for _, tt := range []struct {
		caps []int
		want string
	}{
		{[]int{0, 3, 0, 3, -1, -1}, "abc"},
		{[]int{0, 3, -1, -1, 1, 2}, "b"},
		{[]int{0, 3, -1, -1, -1, -1}, ""},
		{[]int{0, 3}, ""}, // Caps shorter than fields
	} {
		for _, text := range []string{"{{.code}}", "{{.code | printf `%s`}}"} {
			tm, err := CompileTemplate(text, fields)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tm.Render(nil, &Env{Text: []byte("abc"), Caps: tt.caps})
			if err != nil || string(got) != tt.want {
				t.Errorf("%s with caps %v = %q, %v; want %q", text, tt.caps, got, err, tt.want)
			}
		}
	}
}

func TestTemplateNonIdentifierCapture(t *testing.T) {
	tm, err := CompileTemplate(`{{index . "[http][status]"}}/{{index $ "a-b"}}`, []string{"", "[http][status]", "a-b"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Render(nil, &Env{Text: []byte("200 x"), Caps: []int{0, 5, 0, 3, 4, 5}})
	if err != nil || string(got) != "200/x" {
		t.Errorf("Render = %q, %v", got, err)
	}
}

func TestTemplateCaptureShadowsBuiltin(t *testing.T) {
	tm, err := CompileTemplate("{{.input}}", []string{"", "input"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tm.Render(nil, &Env{Text: []byte("cap"), Caps: []int{0, 3, 0, 3}, Line: &logline.Line{Input: "in"}})
	if string(got) != "cap" {
		t.Errorf("got %q, want the capture", got)
	}
}

func TestCompileTemplateErrors(t *testing.T) {
	fields := []string{"", "status", "a-b"}
	tests := []struct {
		name   string
		tmpl   string
		want   string
		offset int
	}{
		{"unknown capture", "{{.stauts}}", `template references capture "stauts", which the pattern does not define`, 2},
		{"unknown capture after text", "code={{ .x }}", `capture "x"`, 8},
		{"unknown kubernetes field", "{{.kubernetes.foo}}", "unknown field .kubernetes.foo", 13},
		{"unknown kubernetes field after text", "x {{ .kubernetes.foo }}", "unknown field .kubernetes.foo", 16},
		{"field of capture", "{{.status.x}}", `capture "status" is text and has no field "x"`, 9},
		{"field of input", "{{.input.x}}", `.input is text`, 8},
		{"too deep label", "{{.kubernetes.labels.app.x}}", `pod label "app" is text`, 24},
		{"field of kubernetes field", "{{.kubernetes.pod.x}}", `.kubernetes.pod is text`, 17},
		{"unknown in function", `{{base .nope}}`, `capture "nope"`, 7},
		{"unknown in if", `{{if .status}}{{.nope}}{{end}}`, `capture "nope"`, 16},
		{"unknown root variable", `{{with .status}}{{$.nope}}{{end}}`, `capture "nope"`, 19},
		{"unknown root variable chain", `{{$.kubernetes.nope}}`, `unknown field .kubernetes.nope`, 14},
		{"unknown index key", `{{index . "a_b"}}`, `capture "a_b"`, 10},
		{"unknown function", "{{nope .status}}", `template syntax: function "nope" not defined`, -1},
		{"syntax", "{{.status", "template syntax:", -1},
		{"syntax on line 2", "a\n{{.status", "template syntax: line 2:", -1},
		{"gsub regexp", `{{gsub .status "(" ""}}`, "gsub: error parsing regexp", 15},
		{"gsub arity", `{{gsub .status "a"}}`, "gsub takes 3 arguments, got 2", 2},
		{"divide constant", `{{divide .status "x"}}`, `divide: "x" is not a number`, 17},
		{"timestamp layout", `{{timestamp "2006-01-02,5" .status}}`, "timestamp: invalid layout", 12},
		{"timestamp two commas", `{{timestamp "2006,01,02,000" .status}}`, "timestamp: invalid layout", 12},
		{"timestamp layout not constant", `{{timestamp .status .status}}`, "layout must be a quoted string", 12},
		{"template action", `{{template "x"}}`, "template actions are not supported", 11},
		{"define", `{{define "x"}}y{{end}}`, "define and block are not supported", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileTemplate(tt.tmpl, fields)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("error %T is not a *TemplateError", err)
			}
			if te.Offset != tt.offset {
				t.Errorf("offset = %d, want %d", te.Offset, tt.offset)
			}
		})
	}
}

func TestTemplateRuntimeErrors(t *testing.T) {
	fields, env := testEnv(t, `(?P<v>\w+)`, "abc", nil)
	for _, text := range []string{"{{divide .v 2}}", "{{divide 1 0}}", `{{timestamp "2006" .v}}`} {
		tm, err := CompileTemplate(text, fields)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tm.Render([]byte("keep"), env)
		if err == nil {
			t.Errorf("%s: want an error, got %q", text, got)
		}
		if string(got) != "keep" {
			t.Errorf("%s: dst changed to %q on error", text, got)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		layout, value string
		want          float64
		wantErr       bool
	}{
		{"2006-01-02 15:04:05", "2024-05-01 12:00:00", 1714564800, false},
		{"2006-01-02 15:04:05,000", "2024-05-01 12:00:00,500", 1714564800.5, false},
		{"02/Jan/2006:15:04:05 -0700", "01/May/2024:14:00:00 +0200", 1714564800, false},
		{"2006,01", "2024,05", 0, true},
		{"2006-01-02", "yesterday", 0, true},
	}
	for _, tt := range tests {
		got, err := parseTimestamp(tt.layout, tt.value)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseTimestamp(%q, %q) = %v, %v; want %v (error %v)", tt.layout, tt.value, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestGsubReplacement(t *testing.T) {
	for in, want := range map[string]string{
		"plain":     "plain",
		`\1-\2`:     "${1}-${2}",
		`\0 \&`:     "${0} ${0}",
		`\k<name>`:  "${name}",
		`\\1`:       `\1`,
		`cost $5`:   "cost $$5",
		`\x`:        `\x`,
		`trailing\`: `trailing\`,
	} {
		if got := gsubReplacement(in); got != want {
			t.Errorf("gsubReplacement(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTemplateFastPathAllocs(t *testing.T) {
	line := &logline.Line{Input: "nginx", Kube: &logline.Kube{Namespace: "shop", Labels: map[string]string{"app": "web"}}}
	fields, env := testEnv(t, `(?P<method>\w+) (?P<status>\d+)`, "GET 200", line)
	for _, text := range []string{"const", "{{.status}}", "{{.method}}-{{.status}} {{.kubernetes.namespace}} {{.kubernetes.labels.app}} {{.input}}"} {
		tm, err := CompileTemplate(text, fields)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, 0, 128)
		if n := testing.AllocsPerRun(100, func() { dst, _ = tm.Render(dst[:0], env) }); n != 0 {
			t.Errorf("%s: %v allocs per Render, want 0", text, n)
		}
	}
}

func benchmarkRender(b *testing.B, text string) {
	line := &logline.Line{Input: "nginx", Kube: &logline.Kube{Namespace: "shop"}}
	fields, env := testEnv(b, `(?P<method>\w+) (?P<path>\S+) (?P<status>\d+) (?P<ms>\d+)`, "GET /shop/cart.html 200 1500", line)
	tm, err := CompileTemplate(text, fields)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		if dst, err = tm.Render(dst[:0], env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTemplateRenderSimple(b *testing.B) { benchmarkRender(b, "{{.status}}") }

func BenchmarkTemplateRenderConcat(b *testing.B) {
	benchmarkRender(b, "{{.kubernetes.namespace}}/{{.method}} {{.status}}")
}

func BenchmarkTemplateRenderGeneral(b *testing.B) { benchmarkRender(b, "{{divide .ms 1000}}") }

// TestTemplatePrintfBounded: printf keeps working, but a format (from a rule
// or from the log line itself) cannot ask for a huge width or precision.
func TestTemplatePrintfBounded(t *testing.T) {
	cases := []struct {
		tmpl, capture string
		want, err     string
	}{
		{`{{printf "%05.1f" 3.14159}}`, "", "003.1", ""},
		{`{{printf "%s-%d%%" .a 7}}`, "x", "x-7%", ""},
		{`{{printf "%[1]s%[1]s" .a}}`, "ab", "abab", ""},
		{`{{printf "%0999999999d" 1}}`, "", "", "width or precision over 1000"},
		{`{{printf "%.2000f" 1.5}}`, "", "", "width or precision over 1000"},
		{`{{printf "%*d" 999999999 1}}`, "", "", "widths from arguments"},
		{`{{printf .a 1}}`, "%0999999999d", "", "width or precision over 1000"},
		{`{{printf .a 1}}`, "%d apples", "1 apples", ""},
	}
	for _, c := range cases {
		tmpl, err := CompileTemplate(c.tmpl, []string{"a"})
		if err != nil {
			t.Fatalf("%s: %v", c.tmpl, err)
		}
		env := &Env{Text: []byte(c.capture), Caps: []int{0, len(c.capture)}}
		out, err := tmpl.Render(nil, env)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s on %q: %q, %v; want an error about %q", c.tmpl, c.capture, out, err, c.err)
			}
			continue
		}
		if err != nil || string(out) != c.want {
			t.Errorf("%s on %q = %q, %v; want %q", c.tmpl, c.capture, out, err, c.want)
		}
	}
}
