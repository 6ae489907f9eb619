package tail

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logmeter/logmeter/pkg/logline"
)

// The fuzz tests check the Decoder against slow, obvious decoders built on
// bytes.SplitN, time.Parse and encoding/json. Input is a file body split at
// '\n'; the limit is 1 to 256 bytes so cutting is common.

// refFragment is what a reference decoder makes of one physical line.
type refFragment struct {
	slot    int
	last    bool
	text    []byte
	time    time.Time
	inexact bool // text may differ from the Decoder's (invalid UTF-8 in JSON)
}

func refCRI(line []byte) (refFragment, bool) {
	var f refFragment
	parts := bytes.SplitN(line, []byte(" "), 4)
	if len(parts) < 3 {
		return f, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(parts[0]))
	if err != nil {
		return f, false
	}
	switch string(parts[1]) {
	case "stdout":
		f.slot = slotStdout
	case "stderr":
		f.slot = slotStderr
	default:
		return f, false
	}
	tag := parts[2]
	if len(tag) == 0 || (tag[0] != 'P' && tag[0] != 'F') || (len(tag) > 1 && tag[1] != ':') {
		return f, false
	}
	f.text = []byte{}
	if len(parts) == 4 {
		f.text = parts[3]
	}
	f.last = tag[0] == 'F'
	if f.last {
		f.text = bytes.TrimSuffix(f.text, []byte("\r"))
	}
	f.time = t
	return f, true
}

func refDocker(line []byte) (refFragment, bool) {
	f := refFragment{slot: slotNone}
	// encoding/json turns each invalid byte into a 3-byte U+FFFD, where the
	// Decoder keeps the byte; a one-byte stand-in keeps lengths (and with them
	// the too_long verdict) exact, and the text is compared loosely.
	line, f.inexact = standInInvalid(line)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil || m == nil {
		return f, false
	}
	var log string
	if raw, ok := m["log"]; !ok || raw[0] != '"' || json.Unmarshal(raw, &log) != nil {
		return f, false
	}
	if raw, ok := m["stream"]; ok {
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return f, false
		}
		switch s {
		case "stdout":
			f.slot = slotStdout
		case "stderr":
			f.slot = slotStderr
		default:
			return f, false
		}
	}
	if raw, ok := m["time"]; ok {
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return f, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return f, false
		}
		f.time = t
	}
	f.text = []byte(log)
	if f.last = bytes.HasSuffix(f.text, []byte("\n")); f.last {
		f.text = bytes.TrimSuffix(f.text[:len(f.text)-1], []byte("\r"))
	}
	return f, true
}

// standInInvalid replaces every byte of line that is not part of valid UTF-8
// with '~', reporting whether it replaced any.
func standInInvalid(line []byte) ([]byte, bool) {
	if utf8.Valid(line) {
		return line, false
	}
	out := make([]byte, 0, len(line))
	for i := 0; i < len(line); {
		r, n := utf8.DecodeRune(line[i:])
		if r == utf8.RuneError && n == 1 {
			out = append(out, '~')
		} else {
			out = append(out, line[i:i+n]...)
		}
		i += n
	}
	return out, true
}

// refLine is a logical line being assembled by the reference.
type refLine struct {
	text     []byte
	time     time.Time
	offset   int64
	slot     int
	active   bool
	inexact  bool
	reported bool
}

// checkJoined runs the Decoder and the reference side by side over lines.
func checkJoined(t *testing.T, format Format, limit int, data []byte, ref func([]byte) (refFragment, bool), invalid string) {
	d := NewDecoder(format, limit)
	var (
		out     logline.Line
		off     int64
		pending [numSlots]refLine
	)
	for _, line := range bytes.Split(data, []byte("\n")) {
		done, reason := d.Decode(line, off, &out)
		f, ok := ref(line)
		if !ok {
			if done || reason != invalid {
				t.Fatalf("Decode(%q) = %v, %q; want the line refused with %q", line, done, reason, invalid)
			}
			off += int64(len(line)) + 1
			continue
		}
		p := &pending[f.slot]
		if !p.active {
			*p = refLine{time: f.time, offset: off, slot: f.slot, active: true}
		}
		p.text = append(p.text, f.text...)
		p.inexact = p.inexact || f.inexact
		wantReason := ""
		if len(p.text) > limit && !p.reported {
			p.reported, wantReason = true, ReasonTooLong
		}
		if done != f.last || reason != wantReason {
			t.Fatalf("Decode(%q) = %v, %q; want %v, %q", line, done, reason, f.last, wantReason)
		}
		if done {
			checkLine(t, &out, p, limit)
			p.active = false
		}
		off += int64(len(line)) + 1
	}
	var left []*refLine
	for s := range pending {
		if pending[s].active {
			left = append(left, &pending[s])
		}
	}
	slices.SortFunc(left, func(a, b *refLine) int { return int(a.offset - b.offset) })
	for _, p := range left {
		if !d.Flush(&out) {
			t.Fatalf("Flush returned nothing, want the partial line at offset %d", p.offset)
		}
		checkLine(t, &out, p, limit)
	}
	if d.Flush(&out) || d.Pending() {
		t.Fatalf("decoder still holds a line after the reference drained")
	}
}

func checkLine(t *testing.T, out *logline.Line, want *refLine, limit int) {
	t.Helper()
	if out.Offset != want.offset || !out.Time.Equal(want.time) || out.Stream != streamName(want.slot) {
		t.Fatalf("line at %d %v %q, want at %d %v %q", out.Offset, out.Time, out.Stream, want.offset, want.time, streamName(want.slot))
	}
	checkText(t, out.Text, want.text, want.inexact, limit)
}

// checkText allows the Decoder's text to be the reference cut at the limit,
// shortened by at most a split rune.
func checkText(t *testing.T, got, want []byte, inexact bool, limit int) {
	t.Helper()
	if len(got) > limit {
		t.Fatalf("text of %d bytes exceeds the limit of %d", len(got), limit)
	}
	if inexact {
		return
	}
	if len(want) <= limit {
		if !bytes.Equal(got, want) {
			t.Fatalf("text %q, want %q", got, want)
		}
		return
	}
	if !bytes.HasPrefix(want, got) || len(got) < limit-utf8.UTFMax+1 {
		t.Fatalf("text %q is not %q cut at %d bytes", got, want, limit)
	}
	if utf8.Valid(want) && !utf8.Valid(got) {
		t.Fatalf("cutting valid UTF-8 %q made invalid %q", want, got)
	}
}

func fuzzLimit(l uint8) int { return int(l) + 1 }

func FuzzDecodeCRI(f *testing.F) {
	f.Add([]byte(ts1+" stdout P abc\n"+ts2+" stderr F x\n"+ts3+" stdout F:y def"), uint8(255))
	f.Add([]byte("2024-05-01T14:00:00.5+02:00 stdout F é😀\r\n"+ts1+" stdout F"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, l uint8) {
		checkJoined(t, FormatCRI, fuzzLimit(l), data, refCRI, ReasonInvalidCRI)
	})
}

func FuzzDecodeDocker(f *testing.F) {
	f.Add([]byte(`{"log":"a\u00e9","stream":"stdout","time":"`+ts1+`"}`+"\n"+`{"log":"b\ud83d\ude00\r\n","stream":"stdout"}`), uint8(255))
	f.Add([]byte(`{"attrs":{"k":[1,true,null]},"log":"x\"\\\n"}`), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, l uint8) {
		checkJoined(t, FormatDocker, fuzzLimit(l), data, refDocker, ReasonInvalidDocker)
	})
}

func FuzzDecodeAuto(f *testing.F) {
	f.Add([]byte(`{"log":"a\n"}`+"\n"+ts1+" stdout P b\nplain\r\n{\"x\":1}\n"+ts1+" stdout F c"), uint8(255))
	f.Fuzz(func(t *testing.T, data []byte, l uint8) {
		limit := fuzzLimit(l)
		d := NewDecoder(FormatAuto, limit)
		var out logline.Line
		for _, line := range bytes.Split(data, []byte("\n")) {
			done, reason := d.Decode(line, 0, &out)
			if reason != "" && reason != ReasonTooLong {
				t.Fatalf("Decode(%q) reported %q; auto never refuses a line", line, reason)
			}
			if done && len(out.Text) > limit {
				t.Fatalf("text of %d bytes exceeds the limit of %d", len(out.Text), limit)
			}
			_, isCRI := refCRI(line)
			_, isDocker := refDocker(line)
			if isCRI || (isDocker && line[0] == '{') {
				continue
			}
			if !done || out.Stream != "" || !out.Time.IsZero() {
				t.Fatalf("Decode(%q) = %v, stream %q, time %v; want a plain line", line, done, out.Stream, out.Time)
			}
			checkText(t, out.Text, bytes.TrimSuffix(line, []byte("\r")), false, limit)
		}
		for d.Flush(&out) {
			if len(out.Text) > limit {
				t.Fatalf("flushed text of %d bytes exceeds the limit of %d", len(out.Text), limit)
			}
		}
		if d.Pending() {
			t.Fatal("Pending() after Flush returned false")
		}
	})
}
