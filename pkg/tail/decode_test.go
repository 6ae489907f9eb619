package tail

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/logmeter/logmeter/pkg/logline"
)

// result is one delivered logical line; at is the index of the physical line
// that completed it, or -1 when Flush returned it.
type result struct {
	at     int
	text   string
	stream string
	offset int64
	time   string // RFC 3339 in UTC, "" for the zero time
}

type decodeCase struct {
	name    string
	limit   int
	lines   []string
	want    []result
	reasons []string // "index:reason" for every physical line reporting one
}

// decodeAll feeds lines as if they were one file and drains the decoder.
func decodeAll(t *testing.T, f Format, limit int, lines []string) ([]result, []string) {
	t.Helper()
	d := NewDecoder(f, limit)
	var (
		out     logline.Line
		off     int64
		got     []result
		reasons []string
	)
	keep := func(at int) {
		r := result{at: at, text: string(out.Text), stream: out.Stream, offset: out.Offset}
		if !out.Time.IsZero() {
			r.time = out.Time.Format(time.RFC3339Nano)
		}
		got = append(got, r)
	}
	for i, l := range lines {
		done, reason := d.Decode([]byte(l), off, &out)
		if reason != "" {
			reasons = append(reasons, fmt.Sprintf("%d:%s", i, reason))
		}
		if done {
			keep(i)
		}
		off += int64(len(l)) + 1
	}
	for d.Flush(&out) {
		keep(-1)
	}
	if d.Pending() {
		t.Errorf("Pending() = true after Flush returned false")
	}
	return got, reasons
}

func runCases(t *testing.T, f Format, cases []decodeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, reasons := decodeAll(t, f, tc.limit, tc.lines)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("lines:\n got  %+v\n want %+v", got, tc.want)
			}
			if !reflect.DeepEqual(reasons, tc.reasons) {
				t.Errorf("reasons: got %q, want %q", reasons, tc.reasons)
			}
		})
	}
}

const (
	ts1 = "2024-05-01T12:00:00.123456789Z"
	ts2 = "2024-05-01T12:00:01.5Z"
	ts3 = "2024-05-01T12:00:02Z"
)

func TestDecodePlain(t *testing.T) {
	runCases(t, FormatPlain, []decodeCase{
		{name: "as is", lines: []string{"hello world", "2024-05-01T12:00:00Z stdout F x"}, want: []result{
			{at: 0, text: "hello world"},
			{at: 1, text: "2024-05-01T12:00:00Z stdout F x", offset: 12},
		}},
		{name: "one carriage return stripped", lines: []string{"a\r", "b\r\r", "\r"}, want: []result{
			{at: 0, text: "a"}, {at: 1, text: "b\r", offset: 3}, {at: 2, offset: 7},
		}},
		{name: "empty line", lines: []string{""}, want: []result{{at: 0}}},
		{name: "invalid utf-8 untouched", lines: []string{"a\xff\xfeb"}, want: []result{{at: 0, text: "a\xff\xfeb"}}},
		{name: "too long", limit: 4, lines: []string{"abcdef", "abcd"}, want: []result{
			{at: 0, text: "abcd"}, {at: 1, text: "abcd", offset: 7},
		}, reasons: []string{"0:too_long"}},
		{name: "cut at rune boundary", limit: 4, lines: []string{"abcé", "ab😀", "abc\xe9\x80"}, want: []result{
			{at: 0, text: "abc"}, {at: 1, text: "ab", offset: 6}, {at: 2, text: "abc", offset: 13},
		}, reasons: []string{"0:too_long", "1:too_long", "2:too_long"}},
		{name: "cut in invalid utf-8 stays at limit", limit: 2, lines: []string{"\x80\x80\x80"}, want: []result{
			{at: 0, text: "\x80\x80"},
		}, reasons: []string{"0:too_long"}},
	})
}

func TestDecodeCRI(t *testing.T) {
	runCases(t, FormatCRI, []decodeCase{
		{name: "full line", lines: []string{ts1 + " stdout F hello world"}, want: []result{
			{at: 0, text: "hello world", stream: "stdout", time: ts1},
		}},
		{name: "stderr", lines: []string{ts1 + " stderr F oops"}, want: []result{
			{at: 0, text: "oops", stream: "stderr", time: ts1},
		}},
		{name: "empty messages", lines: []string{ts1 + " stdout F", ts1 + " stdout F ", ts1 + " stdout F  "}, want: []result{
			{at: 0, stream: "stdout", time: ts1},
			{at: 1, stream: "stdout", offset: 40, time: ts1},
			{at: 2, text: " ", stream: "stdout", offset: 81, time: ts1},
		}},
		{name: "extra tags", lines: []string{ts1 + " stdout P:x a", ts1 + " stdout F:x:y b"}, want: []result{
			{at: 1, text: "ab", stream: "stdout", time: ts1},
		}},
		{name: "partials joined with first offset and time", lines: []string{
			ts1 + " stdout P one ", ts2 + " stdout P two ", ts3 + " stdout F three",
		}, want: []result{{at: 2, text: "one two three", stream: "stdout", time: ts1}}},
		{name: "interleaved streams", lines: []string{
			ts1 + " stdout P out-a ", ts2 + " stderr P err-a ", ts2 + " stdout F out-b", ts3 + " stderr F err-b",
		}, want: []result{
			{at: 2, text: "out-a out-b", stream: "stdout", time: ts1},
			{at: 3, text: "err-a err-b", stream: "stderr", offset: 47, time: ts2},
		}},
		{name: "timezones and fractions", lines: []string{
			"2024-05-01T14:00:00.5+02:00 stdout F a",
			"2024-05-01T06:30:00-05:30 stdout F b",
			"2024-05-01T12:00:00.123456789123Z stdout F c",
			"2024-02-29T23:59:59.000000001Z stdout F d",
		}, want: []result{
			{at: 0, text: "a", stream: "stdout", time: "2024-05-01T12:00:00.5Z"},
			{at: 1, text: "b", stream: "stdout", offset: 39, time: "2024-05-01T12:00:00Z"},
			{at: 2, text: "c", stream: "stdout", offset: 76, time: ts1},
			{at: 3, text: "d", stream: "stdout", offset: 121, time: "2024-02-29T23:59:59.000000001Z"},
		}},
		{name: "time.Parse fallback", lines: []string{"2024-05-01T12:00:00,5Z stdout F a"}, want: []result{
			{at: 0, text: "a", stream: "stdout", time: "2024-05-01T12:00:00.5Z"},
		}},
		{name: "malformed lines skipped without disturbing partials", lines: []string{
			ts1 + " stdout P a",
			"",
			"garbage",
			"2024-13-01T12:00:00Z stdout F bad month",
			"2023-02-29T12:00:00Z stdout F no leap day",
			"2024-05-01T12:00:00+0200 stdout F bad zone",
			"2024-05-01T12:00:00. stdout F no fraction digits",
			"2024-05-01 stdout F date only",
			ts1 + " stdlog F bad stream",
			ts1 + " stdout X bad tag",
			ts1 + " stdout Fx bad tag",
			ts1 + " stdout ",
			ts1 + " stdout",
			ts1,
			ts1 + " stdout F b",
		}, want: []result{{at: 14, text: "ab", stream: "stdout", time: ts1}}, reasons: []string{
			"1:invalid_cri", "2:invalid_cri", "3:invalid_cri", "4:invalid_cri", "5:invalid_cri", "6:invalid_cri",
			"7:invalid_cri", "8:invalid_cri", "9:invalid_cri", "10:invalid_cri", "11:invalid_cri", "12:invalid_cri",
			"13:invalid_cri",
		}},
		{name: "carriage return stripped from the last fragment only", lines: []string{
			ts1 + " stdout P a\r", ts1 + " stdout F b\r",
		}, want: []result{{at: 1, text: "a\rb", stream: "stdout", time: ts1}}},
		{name: "flush pending partials in order", lines: []string{
			ts1 + " stderr P first", ts2 + " stdout P second",
		}, want: []result{
			{at: -1, text: "first", stream: "stderr", time: ts1},
			{at: -1, text: "second", stream: "stdout", offset: 46, time: ts2},
		}},
		{name: "too long single line", limit: 5, lines: []string{ts1 + " stdout F abcdefgh"}, want: []result{
			{at: 0, text: "abcde", stream: "stdout", time: ts1},
		}, reasons: []string{"0:too_long"}},
		{name: "too long across partials reported once", limit: 5, lines: []string{
			ts1 + " stdout P abc", ts1 + " stdout P def", ts1 + " stdout P ghi", ts1 + " stdout F jkl", ts1 + " stdout F ok",
		}, want: []result{
			{at: 3, text: "abcde", stream: "stdout", time: ts1},
			{at: 4, text: "ok", stream: "stdout", offset: 176, time: ts1},
		}, reasons: []string{"1:too_long"}},
		{name: "too long on the last fragment", limit: 5, lines: []string{
			ts1 + " stdout P abc", ts1 + " stdout F def",
		}, want: []result{{at: 1, text: "abcde", stream: "stdout", time: ts1}}, reasons: []string{"1:too_long"}},
		{name: "rune split across fragments is cut whole", limit: 4, lines: []string{
			ts1 + " stdout P abc\xc3", ts1 + " stdout F \xa9d",
		}, want: []result{{at: 1, text: "abc", stream: "stdout", time: ts1}}, reasons: []string{"1:too_long"}},
		{name: "too long partial flushed", limit: 3, lines: []string{ts1 + " stdout P abcdef"}, want: []result{
			{at: -1, text: "abc", stream: "stdout", time: ts1},
		}, reasons: []string{"0:too_long"}},
		{name: "invalid utf-8 untouched", lines: []string{ts1 + " stdout F \xff\xfe"}, want: []result{
			{at: 0, text: "\xff\xfe", stream: "stdout", time: ts1},
		}},
	})
}

func TestDecodeDocker(t *testing.T) {
	const tj = `"time":"` + ts1 + `"`
	runCases(t, FormatDocker, []decodeCase{
		{name: "full line", lines: []string{`{"log":"hello world\n","stream":"stdout",` + tj + `}`}, want: []result{
			{at: 0, text: "hello world", stream: "stdout", time: ts1},
		}},
		{name: "any key order and extra keys", lines: []string{
			`{` + tj + `,"attrs":{"tag":"x","n":[1,-2.5e3,0.1E+2,true,false,null,{},[]]},"stream":"stderr","log":"hi\n"}`,
		}, want: []result{{at: 0, text: "hi", stream: "stderr", time: ts1}}},
		{name: "whitespace between tokens", lines: []string{" { \"log\" : \"a\\n\" ,\t\"stream\":\"stdout\" } "}, want: []result{
			{at: 0, text: "a", stream: "stdout"},
		}},
		{name: "escapes", lines: []string{
			`{"log":"q\" b\\ s\/ nl\n t\t cr\r bs\b ff\f e\u00e9 \u00E9 smile\ud83d\ude00 end\n","stream":"stdout"}`,
		}, want: []result{{at: 0, text: "q\" b\\ s/ nl\n t\t cr\r bs\b ff\f eé é smile😀 end", stream: "stdout"}}},
		{name: "lone surrogates become U+FFFD", lines: []string{
			`{"log":"a\ud800b\udc00c\ud83d\u0041\n","stream":"stdout"}`,
		}, want: []result{{at: 0, text: "a\uFFFDb\uFFFDc\uFFFDA", stream: "stdout"}}},
		{name: "escaped keys and values", lines: []string{`{"l\u006fg":"x\n","stre\u0061m":"std\u006fut","time":"2024-05-01T12:00:00\u002e5Z"}`}, want: []result{
			{at: 0, text: "x", stream: "stdout", time: "2024-05-01T12:00:00.5Z"},
		}},
		{name: "crlf stripped", lines: []string{`{"log":"a\r\n","stream":"stdout"}`, `{"log":"b\r\r\n","stream":"stdout"}`}, want: []result{
			{at: 0, text: "a", stream: "stdout"}, {at: 1, text: "b\r", stream: "stdout", offset: 34},
		}},
		{name: "empty line", lines: []string{`{"log":"\n","stream":"stdout",` + tj + `}`}, want: []result{
			{at: 0, stream: "stdout", time: ts1},
		}},
		{name: "partials joined with first offset and time", lines: []string{
			`{"log":"one ","stream":"stdout","time":"` + ts1 + `"}`,
			`{"log":"two ","stream":"stdout","time":"` + ts2 + `"}`,
			`{"log":"three\n","stream":"stdout","time":"` + ts3 + `"}`,
		}, want: []result{{at: 2, text: "one two three", stream: "stdout", time: ts1}}},
		{name: "interleaved streams", lines: []string{
			`{"log":"out-a ","stream":"stdout"}`,
			`{"log":"err-a ","stream":"stderr"}`,
			`{"log":"out-b\n","stream":"stdout"}`,
			`{"log":"err-b\n","stream":"stderr"}`,
		}, want: []result{
			{at: 2, text: "out-a out-b", stream: "stdout"},
			{at: 3, text: "err-a err-b", stream: "stderr", offset: 35},
		}},
		{name: "missing stream and time", lines: []string{`{"log":"x\n"}`}, want: []result{{at: 0, text: "x"}}},
		{name: "malformed lines skipped without disturbing partials", lines: []string{
			`{"log":"a","stream":"stdout"}`,
			``,
			`not json`,
			`{"log":"x\n"`,
			`{"log":"x\n"}}`,
			`{"log":"x\n"} x`,
			`{"stream":"stdout"}`,
			`{"log":null}`,
			`{"log":5}`,
			`{"log":"x\n","stream":"stdlog"}`,
			`{"log":"x\n","stream":1}`,
			`{"log":"x\n","time":"yesterday"}`,
			`{"log":"x\n","time":null}`,
			"{\"log\":\"raw\ttab\\n\"}",
			`{"log":"bad \x escape"}`,
			`{"log":"bad \u12G4"}`,
			`{"log":"unterminated}`,
			`{"log":"x\n","n":01}`,
			`{"log":"x\n","n":1.}`,
			`{"log":"x\n","n":-}`,
			`{"log":"x\n","b":tru}`,
			`{"log":"x\n",}`,
			`{"log" "x\n"}`,
			`{log:"x\n"}`,
			`{"log":"x\n","a":[1,]}`,
			`{"log":"x\n","a":{"k"}}`,
			`["log"]`,
			`{"log":"b\n","stream":"stdout"}`,
		}, want: []result{{at: 27, text: "ab", stream: "stdout"}}, reasons: []string{
			"1:invalid_docker", "2:invalid_docker", "3:invalid_docker", "4:invalid_docker", "5:invalid_docker",
			"6:invalid_docker", "7:invalid_docker", "8:invalid_docker", "9:invalid_docker", "10:invalid_docker",
			"11:invalid_docker", "12:invalid_docker", "13:invalid_docker", "14:invalid_docker", "15:invalid_docker",
			"16:invalid_docker", "17:invalid_docker", "18:invalid_docker", "19:invalid_docker", "20:invalid_docker",
			"21:invalid_docker", "22:invalid_docker", "23:invalid_docker", "24:invalid_docker", "25:invalid_docker",
			"26:invalid_docker",
		}},
		{name: "deep nesting refused", lines: []string{
			// The enclosing object counts as one level, as in encoding/json.
			`{"log":"x\n","a":` + strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth) + `}`,
			`{"log":"y\n","a":` + strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1) + `}`,
		}, want: []result{{at: 1, text: "y", offset: 20019}}, reasons: []string{"0:invalid_docker"}},
		{name: "last of duplicate keys wins", lines: []string{
			`{"log":5,"log":"a\n","stream":"bad","stream":"stderr","time":"bad","time":"` + ts1 + `"}`,
			`{"log":"a\n","log":null}`,
			`{"log":"a\n","stream":"stdout","stream":null}`,
			`{"log":"a\n","time":"` + ts1 + `","time":1}`,
		}, want: []result{{at: 0, text: "a", stream: "stderr", time: ts1}}, reasons: []string{
			"1:invalid_docker", "2:invalid_docker", "3:invalid_docker",
		}},
		{name: "flush partial", lines: []string{`{"log":"no newline","stream":"stdout",` + tj + `}`}, want: []result{
			{at: -1, text: "no newline", stream: "stdout", time: ts1},
		}},
		{name: "too long single line", limit: 4, lines: []string{`{"log":"abcdefgh\n","stream":"stdout"}`}, want: []result{
			{at: 0, text: "abcd", stream: "stdout"},
		}, reasons: []string{"0:too_long"}},
		{name: "exactly the limit after stripping crlf", limit: 4, lines: []string{`{"log":"abcd\r\n","stream":"stdout"}`}, want: []result{
			{at: 0, text: "abcd", stream: "stdout"},
		}},
		{name: "too long value far past the limit", limit: 4, lines: []string{
			`{"log":"` + strings.Repeat(`\u00e9`, 20) + `\n","stream":"stdout"}`,
			`{"log":"` + strings.Repeat("x", 20) + `","stream":"stdout"}`,
			`{"log":"y\n","stream":"stdout"}`,
		}, want: []result{
			{at: 0, text: "éé", stream: "stdout"},
			{at: 2, text: "xxxx", stream: "stdout", offset: 151},
		}, reasons: []string{"0:too_long", "1:too_long"}},
		{name: "too long across partials", limit: 6, lines: []string{
			`{"log":"abc","stream":"stdout"}`, `{"log":"d\u00e9f","stream":"stdout"}`, `{"log":"ghi\n","stream":"stdout"}`,
		}, want: []result{{at: 2, text: "abcdé", stream: "stdout"}}, reasons: []string{"1:too_long"}},
		{name: "invalid utf-8 untouched", lines: []string{"{\"log\":\"\xff\xfe\\n\"}"}, want: []result{{at: 0, text: "\xff\xfe"}}},
	})
}

func TestDecodeAuto(t *testing.T) {
	runCases(t, FormatAuto, []decodeCase{
		{name: "detected per line", lines: []string{
			`{"log":"from docker\n","stream":"stderr"}`,
			ts1 + " stdout F from cri",
			"plain text\r",
			`{"msg":"json without log"}`,
			`{not json`,
			"2024-05-01T12:00:00.123+0200 INFO app log with a date",
			ts1 + " stdout X bad tag",
			ts1 + " stdlog F bad stream",
			"",
		}, want: []result{
			{at: 0, text: "from docker", stream: "stderr"},
			{at: 1, text: "from cri", stream: "stdout", offset: 42, time: ts1},
			{at: 2, text: "plain text", offset: 91},
			{at: 3, text: `{"msg":"json without log"}`, offset: 103},
			{at: 4, text: `{not json`, offset: 130},
			{at: 5, text: "2024-05-01T12:00:00.123+0200 INFO app log with a date", offset: 140},
			{at: 6, text: ts1 + " stdout X bad tag", offset: 194},
			{at: 7, text: ts1 + " stdlog F bad stream", offset: 242},
			{at: 8, offset: 293},
		}},
		{name: "plain lines do not disturb partials", lines: []string{
			ts1 + " stdout P a", "plain", `{"log":"x","stream":"stderr"}`, "more", ts1 + " stdout F b", `{"log":"y\n","stream":"stderr"}`,
		}, want: []result{
			{at: 1, text: "plain", offset: 42},
			{at: 3, text: "more", offset: 78},
			{at: 4, text: "ab", stream: "stdout", time: ts1},
			{at: 5, text: "xy", stream: "stderr", offset: 48},
		}},
		{name: "too long is still reported", limit: 3, lines: []string{"abcdef"}, want: []result{
			{at: 0, text: "abc"},
		}, reasons: []string{"0:too_long"}},
	})
}

func TestDefaultLimit(t *testing.T) {
	tests := []struct {
		n      int
		reason string
	}{
		{DefaultMaxLineBytes, ""},
		{DefaultMaxLineBytes + 1, ReasonTooLong},
	}
	for _, tt := range tests {
		for _, limit := range []int{0, -1} {
			d := NewDecoder(FormatPlain, limit)
			var out logline.Line
			done, reason := d.Decode([]byte(strings.Repeat("x", tt.n)), 0, &out)
			if !done || reason != tt.reason || len(out.Text) != min(tt.n, DefaultMaxLineBytes) {
				t.Errorf("limit %d, %d bytes: done %v, reason %q, %d bytes out", limit, tt.n, done, reason, len(out.Text))
			}
		}
	}
}

func TestJoinedBufferStaysWithinLimit(t *testing.T) {
	const limit = 1000
	frag := []byte(ts1 + " stdout P " + strings.Repeat("x", 300))
	d := NewDecoder(FormatCRI, limit)
	var out logline.Line
	for i := range 50 {
		d.Decode(frag, int64(i*len(frag)), &out)
		if c := cap(d.parts[slotStdout].buf); c > limit {
			t.Fatalf("after %d fragments the buffer holds %d bytes, limit %d", i+1, c, limit)
		}
	}
	if !d.Flush(&out) || len(out.Text) != limit {
		t.Errorf("flushed %d bytes, want %d", len(out.Text), limit)
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want Format
		err  bool
	}{
		{"auto", FormatAuto, false},
		{"plain", FormatPlain, false},
		{"cri", FormatCRI, false},
		{"docker", FormatDocker, false},
		{"json", 0, true},
		{"", 0, true},
		{"CRI", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseFormat(tt.in)
		if tt.err {
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.in)) || !strings.Contains(err.Error(), "docker") {
				t.Errorf("ParseFormat(%q) error = %v, want one naming the value and the valid formats", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want || got.String() != tt.in {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if s := Format(9).String(); s != "Format(9)" {
		t.Errorf("Format(9).String() = %q", s)
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	for _, bl := range benchLines() {
		t.Run(bl.name, func(t *testing.T) {
			d := NewDecoder(bl.format, 0)
			var out logline.Line
			allocs := testing.AllocsPerRun(100, func() {
				for _, l := range bl.lines {
					if done, reason := d.Decode(l, 0, &out); !done || reason != "" {
						t.Fatalf("Decode(%q) = %v, %q", l, done, reason)
					}
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per run, want 0", allocs)
			}
		})
	}
}
