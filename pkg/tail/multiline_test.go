package tail

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/logmeter/logmeter/pkg/logline"
)

// t0 is the read time of the first line in multiline tests.
func t0() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) }

// mlIn is one decoded line fed to a Multiline.
type mlIn struct {
	text   string
	stream string
	at     time.Duration // read time after t0; each line defaults to t0 + its index in ms
}

// mlStep is something done between lines: flush at a time after t0.
type mlStep struct {
	after int           // run after the line with this index; -1: before any line
	at    time.Duration // Flush's now, after t0
	force bool
}

// mlOut is one delivered record: at is the index of the line whose Add
// returned it, or "f<n>" for the n-th flush step (the final drain is "end").
type mlOut struct {
	at     string
	text   string
	stream string
	offset int64
}

type mlCase struct {
	name    string
	cfg     MultilineConfig
	lines   []mlIn
	steps   []mlStep
	want    []mlOut
	reasons []string // "index:reason"
	pending []string // PendingOffset after each line: "-" for none, else the offset
}

func plainLines(text ...string) []mlIn {
	in := make([]mlIn, len(text))
	for i, s := range text {
		in[i] = mlIn{text: s, at: -1}
	}
	return in
}

func runMultiline(t *testing.T, tc mlCase) {
	t.Helper()
	m := NewMultiline(tc.cfg)
	var (
		out     logline.Line
		off     int64
		got     []mlOut
		reasons []string
		pending []string
	)
	kube := &logline.Kube{Namespace: "shop", Pod: "web-1"}
	keep := func(at string) {
		if out.Source != "app.log" || out.Input != "apps" || out.Kube != kube {
			t.Errorf("record at %s lost its first line's metadata: %+v", at, out)
		}
		got = append(got, mlOut{at: at, text: string(out.Text), stream: out.Stream, offset: out.Offset})
	}
	flush := func(i int) {
		for n, st := range tc.steps {
			if st.after != i {
				continue
			}
			for m.Flush(t0().Add(st.at), st.force, &out) {
				keep(fmt.Sprintf("f%d", n))
			}
		}
	}
	flush(-1)
	for i, l := range tc.lines {
		now := t0().Add(time.Duration(i) * time.Millisecond)
		if l.at >= 0 {
			now = t0().Add(l.at)
		}
		text := []byte(l.text)
		in := logline.Line{
			Text: text, Stream: l.stream, Offset: off, Source: "app.log", Input: "apps", Kube: kube,
			Time: t0().Add(time.Duration(i) * time.Second),
		}
		done, reason := m.Add(&in, now, &out)
		// The caller's buffer is reused for the next line.
		for j := range text {
			text[j] = '#'
		}
		if reason != "" {
			reasons = append(reasons, fmt.Sprintf("%d:%s", i, reason))
		}
		if done {
			if want := t0().Add(time.Duration(lineIndex(tc.lines, out.Offset)) * time.Second); !out.Time.Equal(want) {
				t.Errorf("record at %d: Time %v, want the first line's %v", i, out.Time, want)
			}
			keep(fmt.Sprint(i))
		}
		off += int64(len(l.text)) + 1
		flush(i)
		if o, ok := m.PendingOffset(); ok {
			pending = append(pending, fmt.Sprint(o))
		} else {
			pending = append(pending, "-")
		}
	}
	for m.Flush(t0(), true, &out) {
		keep("end")
	}
	if o, ok := m.PendingOffset(); ok {
		t.Errorf("PendingOffset() = %d, true after draining", o)
	}
	if !reflect.DeepEqual(got, tc.want) {
		t.Errorf("records:\n got  %+v\n want %+v", got, tc.want)
	}
	if !reflect.DeepEqual(reasons, tc.reasons) {
		t.Errorf("reasons: got %q, want %q", reasons, tc.reasons)
	}
	if tc.pending != nil && !reflect.DeepEqual(pending, tc.pending) {
		t.Errorf("PendingOffset after each line: got %q, want %q", pending, tc.pending)
	}
}

// lineIndex finds the line starting at offset off.
func lineIndex(lines []mlIn, off int64) int {
	var o int64
	for i, l := range lines {
		if o == off {
			return i
		}
		o += int64(len(l.text)) + 1
	}
	return -1
}

func reNonSpace() *regexp.Regexp { return regexp.MustCompile(`^\S`) }
func reSpace() *regexp.Regexp    { return regexp.MustCompile(`^\s`) }
func reDate() *regexp.Regexp     { return regexp.MustCompile(`^\d{4}-\d{2}-\d{2} `) }

func javaTrace() []string {
	return []string{
		"Exception in thread \"main\" java.lang.IllegalStateException: boom",
		"\tat com.example.Shop.checkout(Shop.java:42)",
		"\tat com.example.Main.main(Main.java:7)",
		"Caused by: java.io.IOException: disk full",
		"\tat com.example.Store.save(Store.java:13)",
		"\t... 2 more",
		"INFO done",
	}
}

func TestMultiline(t *testing.T) {
	for _, tc := range []mlCase{
		{
			name:  "java stack trace by start",
			cfg:   MultilineConfig{Start: reNonSpace()},
			lines: plainLines(javaTrace()...),
			want: []mlOut{
				{at: "3", text: strings.Join(javaTrace()[:3], "\n")},
				{at: "6", text: strings.Join(javaTrace()[3:6], "\n"), offset: 148},
				{at: "end", text: "INFO done", offset: 244},
			},
			pending: []string{"0", "0", "0", "148", "148", "148", "244"},
		},
		{
			name:  "java stack trace by continue",
			cfg:   MultilineConfig{Continue: reSpace()},
			lines: plainLines(javaTrace()...),
			want: []mlOut{
				{at: "3", text: strings.Join(javaTrace()[:3], "\n")},
				{at: "6", text: strings.Join(javaTrace()[3:6], "\n"), offset: 148},
				{at: "end", text: "INFO done", offset: 244},
			},
		},
		{
			name: "python traceback joined to its log line",
			cfg:  MultilineConfig{Start: reDate()},
			lines: plainLines(
				"2024-05-01 12:00:00,001 ERROR app: request failed",
				"Traceback (most recent call last):",
				`  File "app.py", line 10, in handle`,
				"    total = price / qty",
				"ZeroDivisionError: division by zero",
				"2024-05-01 12:00:00,002 INFO app: next",
			),
			want: []mlOut{
				{at: "5", text: "2024-05-01 12:00:00,001 ERROR app: request failed\nTraceback (most recent call last):\n" +
					"  File \"app.py\", line 10, in handle\n    total = price / qty\nZeroDivisionError: division by zero"},
				{at: "end", text: "2024-05-01 12:00:00,002 INFO app: next", offset: 181},
			},
		},
		{
			name:  "lines before the first start line form a record",
			cfg:   MultilineConfig{Start: reDate()},
			lines: plainLines("  orphan", "tail of an older record", "2024-05-01 12:00:00 a", " b"),
			want: []mlOut{
				{at: "2", text: "  orphan\ntail of an older record"},
				{at: "end", text: "2024-05-01 12:00:00 a\n b", offset: 33},
			},
		},
		{
			name:  "empty lines continue with start",
			cfg:   MultilineConfig{Start: reNonSpace()},
			lines: plainLines("", "a", "", "", "\tb", "c"),
			want: []mlOut{
				{at: "1", text: ""},
				{at: "5", text: "a\n\n\n\tb", offset: 1},
				{at: "end", text: "c", offset: 8},
			},
		},
		{
			name:  "empty lines start records with continue",
			cfg:   MultilineConfig{Continue: reSpace()},
			lines: plainLines("a", "", " b", ""),
			want: []mlOut{
				{at: "1", text: "a"},
				{at: "3", text: "\n b", offset: 2},
				{at: "end", text: "", offset: 6},
			},
		},
		{
			name:  "no pattern: every line is a record",
			lines: plainLines("a", " b", "c"),
			want:  []mlOut{{at: "1", text: "a"}, {at: "2", text: " b", offset: 2}, {at: "end", text: "c", offset: 5}},
		},
		{
			name:  "max lines ends a record, the next line starts one",
			cfg:   MultilineConfig{Start: reNonSpace(), MaxLines: 3},
			lines: plainLines("a", " 1", " 2", " 3", " 4", "b"),
			want: []mlOut{
				{at: "3", text: "a\n 1\n 2"},
				{at: "5", text: " 3\n 4", offset: 8},
				{at: "end", text: "b", offset: 14},
			},
		},
		{
			name:  "max lines of one",
			cfg:   MultilineConfig{Start: reNonSpace(), MaxLines: 1},
			lines: plainLines("a", " 1", "b"),
			want:  []mlOut{{at: "1", text: "a"}, {at: "2", text: " 1", offset: 2}, {at: "end", text: "b", offset: 5}},
		},
		{
			name:  "a full record is due for flush at once",
			cfg:   MultilineConfig{Start: reNonSpace(), MaxLines: 2},
			lines: plainLines("a", " 1"),
			steps: []mlStep{{after: 0, at: 0}, {after: 1, at: 0}},
			want:  []mlOut{{at: "f1", text: "a\n 1"}},
		},
		{
			name: "timeout counts from the last line",
			cfg:  MultilineConfig{Start: reNonSpace(), Timeout: time.Second},
			lines: []mlIn{
				{text: "a", at: 0},
				{text: " 1", at: 900 * time.Millisecond},
				{text: " 2", at: 3 * time.Second}, // joins: no Flush was due in between
				{text: " 3", at: 5 * time.Second},
			},
			steps: []mlStep{
				{after: 0, at: 999 * time.Millisecond},  // 999ms since "a": not yet
				{after: 1, at: 1899 * time.Millisecond}, // 999ms since " 1": not yet
				{after: 3, at: 5999 * time.Millisecond}, // not yet
				{after: 3, at: 6 * time.Second},         // exactly Timeout after " 3"
			},
			want:    []mlOut{{at: "f3", text: "a\n 1\n 2\n 3"}},
			pending: []string{"0", "0", "0", "-"},
		},
		{
			name:    "default timeout is two seconds",
			cfg:     MultilineConfig{Start: reNonSpace()},
			lines:   []mlIn{{text: "a", at: 0}},
			steps:   []mlStep{{after: 0, at: 1999 * time.Millisecond}, {after: 0, at: 2 * time.Second}},
			want:    []mlOut{{at: "f1", text: "a"}},
			pending: []string{"-"},
		},
		{
			name:    "forced flush regardless of age",
			cfg:     MultilineConfig{Start: reNonSpace()},
			lines:   plainLines("a", " 1", "b"),
			steps:   []mlStep{{after: 1, at: 0, force: true}},
			want:    []mlOut{{at: "f0", text: "a\n 1"}, {at: "end", text: "b", offset: 5}},
			pending: []string{"0", "-", "5"},
		},
		{
			name:  "flush with nothing pending",
			cfg:   MultilineConfig{Start: reNonSpace()},
			steps: []mlStep{{after: -1, at: time.Hour, force: true}},
		},
		{
			name: "interleaved streams never mix",
			cfg:  MultilineConfig{Start: reNonSpace()},
			lines: []mlIn{
				{text: "out-a", stream: "stdout", at: -1},
				{text: "err-a", stream: "stderr", at: -1},
				{text: " out-1", stream: "stdout", at: -1},
				{text: " err-1", stream: "stderr", at: -1},
				{text: "out-b", stream: "stdout", at: -1},
				{text: " err-2", stream: "stderr", at: -1},
				{text: " plain", at: -1},
			},
			want: []mlOut{
				{at: "4", text: "out-a\n out-1", stream: "stdout"},
				{at: "end", text: "err-a\n err-1\n err-2", stream: "stderr", offset: 6},
				{at: "end", text: "out-b", stream: "stdout", offset: 26},
				{at: "end", text: " plain", offset: 39},
			},
			pending: []string{"0", "0", "0", "0", "6", "6", "6"},
		},
		{
			name: "timeout flushes only the stream that is due",
			cfg:  MultilineConfig{Start: reNonSpace(), Timeout: time.Second},
			lines: []mlIn{
				{text: "out-a", stream: "stdout", at: 0},
				{text: "err-a", stream: "stderr", at: 500 * time.Millisecond},
			},
			steps: []mlStep{{after: 1, at: time.Second}},
			want: []mlOut{
				{at: "f0", text: "out-a", stream: "stdout"},
				{at: "end", text: "err-a", stream: "stderr", offset: 6},
			},
			pending: []string{"0", "6"},
		},
		{
			name:    "truncated at max bytes, reported once",
			cfg:     MultilineConfig{Start: reNonSpace(), MaxBytes: 8},
			lines:   plainLines("abc", " de", " fgh", " ij", "k"),
			want:    []mlOut{{at: "4", text: "abc\n de"}, {at: "end", text: "k", offset: 17}},
			reasons: []string{"2:too_long"},
		},
		{
			name:    "cut inside a line keeps its head",
			cfg:     MultilineConfig{Start: reNonSpace(), MaxBytes: 6},
			lines:   plainLines("abc", " defgh", "x"),
			want:    []mlOut{{at: "2", text: "abc\n d"}, {at: "end", text: "x", offset: 11}},
			reasons: []string{"1:too_long"},
		},
		{
			name:    "cut at a rune boundary",
			cfg:     MultilineConfig{Start: reNonSpace(), MaxBytes: 7},
			lines:   plainLines("abc", " dé"),
			want:    []mlOut{{at: "end", text: "abc\n d"}},
			reasons: []string{"1:too_long"},
		},
		{
			name:    "no separator left without text after it",
			cfg:     MultilineConfig{Start: regexp.MustCompile(`^S`), MaxBytes: 6},
			lines:   plainLines("Sabc", "\u00e9x", "Sd"),
			want:    []mlOut{{at: "2", text: "Sabc"}, {at: "end", text: "Sd", offset: 9}},
			reasons: []string{"1:too_long"},
		},
		{
			name:    "only the separator fits",
			cfg:     MultilineConfig{Start: reNonSpace(), MaxBytes: 5},
			lines:   plainLines("abcd", " \u00e9"),
			want:    []mlOut{{at: "end", text: "abcd"}},
			reasons: []string{"1:too_long"},
		},
		{
			name:    "a split rune is cut whole",
			cfg:     MultilineConfig{Start: reNonSpace(), MaxBytes: 6},
			lines:   plainLines("abc", " \u00e9"),
			want:    []mlOut{{at: "end", text: "abc\n "}},
			reasons: []string{"1:too_long"},
		},
		{
			name:    "first line longer than max bytes",
			cfg:     MultilineConfig{Start: reNonSpace(), MaxBytes: 4},
			lines:   plainLines("abcdef", " g", "hi"),
			want:    []mlOut{{at: "2", text: "abcd"}, {at: "end", text: "hi", offset: 10}},
			reasons: []string{"0:too_long"},
		},
		{
			name:    "a new record after a truncated one starts clean",
			cfg:     MultilineConfig{Start: reNonSpace(), MaxBytes: 4},
			lines:   plainLines("abcdef", "ghijkl", " m"),
			want:    []mlOut{{at: "1", text: "abcd"}, {at: "end", text: "ghij", offset: 7}},
			reasons: []string{"0:too_long", "1:too_long"},
		},
		{
			name:    "truncated lines still count toward max lines",
			cfg:     MultilineConfig{Start: reNonSpace(), MaxBytes: 3, MaxLines: 3},
			lines:   plainLines("abc", " d", " e", " f"),
			want:    []mlOut{{at: "3", text: "abc"}, {at: "end", text: " f", offset: 10}},
			reasons: []string{"1:too_long"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { runMultiline(t, tc) })
	}
}

// TestMultilineOutputSurvivesNextLine checks that the delivered text does not
// alias the pending record that the completing line started.
func TestMultilineOutputSurvivesNextLine(t *testing.T) {
	m := NewMultiline(MultilineConfig{Start: reNonSpace()})
	var out logline.Line
	m.Add(&logline.Line{Text: []byte("first")}, t0(), &out)
	m.Add(&logline.Line{Text: []byte(" more")}, t0(), &out)
	if done, _ := m.Add(&logline.Line{Text: []byte("second line")}, t0(), &out); !done {
		t.Fatal("record not delivered")
	}
	if got := string(out.Text); got != "first\n more" {
		t.Errorf("out.Text = %q", got)
	}
	var out2 logline.Line
	if !m.Flush(t0(), true, &out2) || string(out2.Text) != "second line" {
		t.Errorf("flushed %q", out2.Text)
	}
}

func TestMultilineConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  MultilineConfig
		want string // substring of the error; "" for valid
	}{
		{"start", MultilineConfig{Start: reNonSpace()}, ""},
		{"continue with bounds", MultilineConfig{Continue: reSpace(), MaxLines: 10, MaxBytes: 100, Timeout: time.Second}, ""},
		{"neither", MultilineConfig{}, "one of start or continue is required"},
		{"both", MultilineConfig{Start: reNonSpace(), Continue: reSpace()}, "exclusive"},
		{"negative lines", MultilineConfig{Start: reNonSpace(), MaxLines: -1}, "max_lines"},
		{"negative bytes", MultilineConfig{Start: reNonSpace(), MaxBytes: -1}, "max_bytes"},
		{"negative timeout", MultilineConfig{Start: reNonSpace(), Timeout: -time.Second}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestMultilineBothPatternsStartWins documents the choice NewMultiline makes
// for a config Validate rejects.
func TestMultilineBothPatternsStartWins(t *testing.T) {
	m := NewMultiline(MultilineConfig{Start: reNonSpace(), Continue: regexp.MustCompile(`^x`)})
	var out logline.Line
	m.Add(&logline.Line{Text: []byte("a")}, t0(), &out)
	if done, _ := m.Add(&logline.Line{Text: []byte("x")}, t0(), &out); !done {
		t.Errorf("a line matching Start did not begin a record")
	}
}
