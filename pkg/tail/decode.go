package tail

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/logmeter/logmeter/pkg/logline"
)

// Format says how the lines of a file are encoded.
type Format int

// Formats a Decoder understands.
const (
	FormatAuto   Format = iota // per line: docker JSON, else CRI, else plain
	FormatPlain                // the line as is
	FormatCRI                  // "TIMESTAMP STREAM P|F MESSAGE" as written by containerd and CRI-O
	FormatDocker               // docker json-file: {"log":"...","stream":"...","time":"..."}
)

// ParseFormat turns a configured format name into a Format.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "auto":
		return FormatAuto, nil
	case "plain":
		return FormatPlain, nil
	case "cri":
		return FormatCRI, nil
	case "docker":
		return FormatDocker, nil
	}
	return FormatAuto, fmt.Errorf("unknown log format %q: want auto, plain, cri or docker", s)
}

// String returns the configuration name of f.
func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatPlain:
		return "plain"
	case FormatCRI:
		return "cri"
	case FormatDocker:
		return "docker"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Decode problems, used as the reason label of logmeter_decode_errors_total.
const (
	ReasonInvalidCRI    = "invalid_cri"
	ReasonInvalidDocker = "invalid_docker"
	ReasonTooLong       = "too_long"
)

// DefaultMaxLineBytes is the line size limit used when none is configured.
const DefaultMaxLineBytes = 256 << 10

// Slots for partial lines: container runtimes interleave the two streams.
const (
	slotStdout = iota
	slotStderr
	slotNone // docker lines without a stream key
	numSlots
)

// maxJSONDepth bounds nesting in skipped docker values, as encoding/json does.
const maxJSONDepth = 10000

func streamName(slot int) string {
	switch slot {
	case slotStdout:
		return "stdout"
	case slotStderr:
		return "stderr"
	}
	return ""
}

// partial is a logical line whose last fragment has not been read yet.
type partial struct {
	buf    []byte
	time   time.Time
	offset int64
	active bool
	over   bool // buf reached the limit; later fragment bytes are dropped
}

// fragment is one decoded physical line.
type fragment struct {
	text []byte
	time time.Time
	slot int
	last bool // completes the logical line
}

// Decoder turns the physical lines of one file into logical lines. It keeps
// partial-line state, so each file needs its own Decoder.
type Decoder struct {
	format Format
	limit  int
	parts  [numSlots]partial
	logBuf []byte // unescaped docker "log" value
	strBuf []byte // unescaped docker keys and short values
}

// NewDecoder returns a Decoder for format f that cuts logical lines at
// maxLineBytes; maxLineBytes <= 0 means DefaultMaxLineBytes.
func NewDecoder(f Format, maxLineBytes int) *Decoder {
	if maxLineBytes <= 0 {
		maxLineBytes = DefaultMaxLineBytes
	}
	return &Decoder{format: f, limit: maxLineBytes}
}

// Decode consumes one physical line, without its trailing '\n', read at byte
// offset of the file. When a logical line is complete it fills out's Text,
// Time (UTC), Stream and Offset and returns done. A non-empty reason reports a
// problem with this physical line: invalid_* lines are skipped; too_long comes
// once per logical line, on the physical line where it outgrew the limit.
// out.Text aliases raw or the decoder's buffers until the next Decode or Flush.
func (d *Decoder) Decode(raw []byte, offset int64, out *logline.Line) (done bool, reason string) {
	switch d.format {
	case FormatPlain:
		return d.plain(raw, offset, out)
	case FormatCRI:
		f, ok := parseCRI(raw)
		if !ok {
			return false, ReasonInvalidCRI
		}
		return d.emit(f, offset, out)
	case FormatDocker:
		f, ok := d.parseDocker(raw)
		if !ok {
			return false, ReasonInvalidDocker
		}
		return d.emit(f, offset, out)
	}
	if len(raw) > 0 && raw[0] == '{' {
		if f, ok := d.parseDocker(raw); ok {
			return d.emit(f, offset, out)
		}
	}
	if f, ok := parseCRI(raw); ok {
		return d.emit(f, offset, out)
	}
	return d.plain(raw, offset, out)
}

// Flush completes the pending partial line that started first, if any. Call
// it until it returns false to drain all streams, e.g. at end of input.
func (d *Decoder) Flush(out *logline.Line) bool {
	best := -1
	for s := range d.parts {
		p := &d.parts[s]
		if p.active && (best < 0 || p.offset < d.parts[best].offset) {
			best = s
		}
	}
	if best < 0 {
		return false
	}
	p := &d.parts[best]
	p.active = false
	fill(out, p.buf, p.time, best, p.offset)
	return true
}

// PendingOffset reports the file offset of the first fragment of the oldest
// partial line still waiting for its end: a checkpoint must not pass it,
// or the line would be lost after a restart.
func (d *Decoder) PendingOffset() (int64, bool) {
	off, ok := int64(0), false
	for s := range d.parts {
		if p := &d.parts[s]; p.active && (!ok || p.offset < off) {
			off, ok = p.offset, true
		}
	}
	return off, ok
}

// Pending reports whether a partial line waits for its remaining fragments.
func (d *Decoder) Pending() bool {
	for s := range d.parts {
		if d.parts[s].active {
			return true
		}
	}
	return false
}

func (d *Decoder) plain(raw []byte, offset int64, out *logline.Line) (bool, string) {
	text, reason := d.clip(trimCR(raw))
	fill(out, text, time.Time{}, slotNone, offset)
	return true, reason
}

// emit joins f with the partial line of its stream and delivers the logical
// line when f is its last fragment.
func (d *Decoder) emit(f fragment, offset int64, out *logline.Line) (bool, string) {
	p := &d.parts[f.slot]
	if !p.active {
		if f.last {
			// A line in one piece is delivered without copying.
			text, reason := d.clip(f.text)
			fill(out, text, f.time, f.slot, offset)
			return true, reason
		}
		p.active, p.over = true, false
		p.buf = p.buf[:0]
		p.time, p.offset = f.time, offset
	}
	reason := ""
	if d.add(p, f.text) {
		reason = ReasonTooLong
	}
	if !f.last {
		return false, reason
	}
	p.active = false
	fill(out, p.buf, p.time, f.slot, p.offset)
	return true, reason
}

// add appends frag to p without letting p.buf outgrow the limit. It reports
// whether this fragment made the line too long.
func (d *Decoder) add(p *partial, frag []byte) bool {
	if p.over {
		return false
	}
	room := d.limit - len(p.buf)
	if len(frag) <= room {
		p.buf = appendBounded(p.buf, frag, d.limit)
		return false
	}
	p.buf = appendBounded(p.buf, frag[:room], d.limit)
	p.buf = p.buf[:runeCut(p.buf, frag[room])]
	p.over = true
	return true
}

// clip cuts text to the limit at a UTF-8 boundary.
func (d *Decoder) clip(text []byte) ([]byte, string) {
	if len(text) <= d.limit {
		return text, ""
	}
	return text[:runeCut(text[:d.limit], text[d.limit])], ReasonTooLong
}

func fill(out *logline.Line, text []byte, t time.Time, slot int, offset int64) {
	out.Text = text
	out.Time = t
	out.Stream = streamName(slot)
	out.Offset = offset
}

// appendBounded appends s to b, growing b to at most limit bytes of capacity.
func appendBounded(b, s []byte, limit int) []byte {
	if need := len(b) + len(s); need > cap(b) {
		c := min(max(2*cap(b), need, 512), limit)
		nb := make([]byte, len(b), max(c, need))
		copy(nb, b)
		b = nb
	}
	return append(b, s...)
}

// runeCut returns the length of b without a trailing rune that is split,
// given next, the first byte that was cut away.
func runeCut(b []byte, next byte) int {
	n := len(b)
	if utf8.RuneStart(next) {
		return n
	}
	for i := n - 1; i >= 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if runeLen(b[i]) > n-i {
				return i
			}
			return n
		}
	}
	return n
}

// runeLen is the length of the UTF-8 sequence that lead byte c starts.
func runeLen(c byte) int {
	switch {
	case c >= 0xF0:
		return 4
	case c >= 0xE0:
		return 3
	case c >= 0xC0:
		return 2
	}
	return 1
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// parseCRI splits "TIMESTAMP STREAM TAG[ MESSAGE]". The timestamp is parsed
// last so that plain lines starting with a date stay cheap in auto mode.
func parseCRI(b []byte) (fragment, bool) {
	var f fragment
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		return f, false
	}
	ts, rest := b[:sp], b[sp+1:]
	switch {
	case bytes.HasPrefix(rest, []byte("stdout ")):
		f.slot = slotStdout
	case bytes.HasPrefix(rest, []byte("stderr ")):
		f.slot = slotStderr
	default:
		return f, false
	}
	rest = rest[len("stdout "):]
	tag, msg := rest, rest[len(rest):]
	if j := bytes.IndexByte(rest, ' '); j >= 0 {
		tag, msg = rest[:j], rest[j+1:]
	}
	if len(tag) == 0 || (tag[0] != 'P' && tag[0] != 'F') || (len(tag) > 1 && tag[1] != ':') {
		return f, false
	}
	t, ok := parseTime(ts)
	if !ok {
		return f, false
	}
	f.time = t
	f.last = tag[0] == 'F'
	if f.last {
		msg = trimCR(msg)
	}
	f.text = msg
	return f, true
}

// parseDocker reads one docker json-file object. Keys may come in any order,
// unknown keys are skipped and, as in encoding/json, the last of duplicate
// keys wins; "log" is required and must be a string.
func (d *Decoder) parseDocker(b []byte) (fragment, bool) {
	f := fragment{slot: slotNone}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return f, false
	}
	i = skipWS(b, i+1)
	var (
		logOK, streamOK, timeOK = false, true, true
		last                    byte
		cut, ok                 bool
		val                     []byte
	)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			var key []byte
			if key, i, ok = d.stringValue(b, i); !ok {
				return f, false
			}
			i = skipWS(b, i)
			if i >= len(b) || b[i] != ':' {
				return f, false
			}
			i = skipWS(b, i+1)
			isString := i < len(b) && b[i] == '"'
			switch string(key) {
			case "log":
				if logOK = isString; logOK {
					d.logBuf, i, last, cut, ok = decodeString(d.logBuf[:0], b, i+1, d.limit+utf8.UTFMax)
				} else {
					i, ok = skipValue(b, i, 1)
				}
			case "stream":
				if streamOK = isString; streamOK {
					if val, i, ok = d.stringValue(b, i); ok {
						f.slot, streamOK = streamSlot(val)
					}
				} else {
					i, ok = skipValue(b, i, 1)
				}
			case "time":
				if timeOK = isString; timeOK {
					if val, i, ok = d.stringValue(b, i); ok {
						f.time, timeOK = parseTime(val)
					}
				} else {
					i, ok = skipValue(b, i, 1)
				}
			default:
				i, ok = skipValue(b, i, 1)
			}
			if !ok {
				return f, false
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return f, false
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return f, false
			}
			i = skipWS(b, i+1)
		}
	}
	if !logOK || !streamOK || !timeOK || skipWS(b, i) != len(b) {
		return f, false
	}
	f.text = d.logBuf
	f.last = last == '\n'
	if f.last && !cut {
		// A cut value is longer than the limit, so its end is dropped anyway.
		f.text = trimCR(f.text[:len(f.text)-1])
	}
	return f, true
}

func streamSlot(s []byte) (int, bool) {
	switch string(s) {
	case "stdout":
		return slotStdout, true
	case "stderr":
		return slotStderr, true
	}
	return slotNone, false
}

// stringValue reads the JSON string at b[i], returning its content without
// copying unless it holds escapes.
func (d *Decoder) stringValue(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	end, esc, ok := scanString(b, i+1)
	if !ok {
		return nil, i, false
	}
	if !esc {
		return b[i+1 : end-1], end, true
	}
	d.strBuf, _, _, _, _ = decodeString(d.strBuf[:0], b, i+1, math.MaxInt)
	return d.strBuf, end, true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString validates the JSON string whose content starts at b[i] and
// returns the index after its closing quote and whether it holds escapes.
func scanString(b []byte, i int) (end int, esc bool, ok bool) {
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, esc, true
		case c < 0x20:
			return i, esc, false
		case c == '\\':
			if i+1 >= len(b) {
				return i, esc, false
			}
			esc = true
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(b, i+2); !ok {
					return i, esc, false
				}
				i += 6
			default:
				return i, esc, false
			}
		default:
			i++
		}
	}
	return i, esc, false
}

// decodeString unescapes the JSON string whose content starts at b[i],
// appending at most about limit bytes to dst; cut reports that bytes were
// dropped. It returns the index after the closing quote and the last byte of
// the full value (0 when empty, 0x80 for a multi-byte rune). Invalid UTF-8 is
// copied as is; lone surrogates become U+FFFD like in encoding/json.
func decodeString(dst, b []byte, i, limit int) (out []byte, end int, last byte, cut bool, ok bool) {
	for i < len(b) {
		start := i
		for _, c := range b[i:] {
			if c == '"' || c == '\\' || c < 0x20 {
				break
			}
			i++
		}
		if i > start {
			run := b[start:i]
			if room := limit - len(dst); len(run) > room {
				run = run[:max(room, 0)]
				cut = true
			}
			dst = append(dst, run...)
			last = b[i-1]
		}
		if i >= len(b) || b[i] < 0x20 {
			return dst, i, last, cut, false
		}
		if b[i] == '"' {
			return dst, i + 1, last, cut, true
		}
		if i+1 >= len(b) {
			return dst, i, last, cut, false
		}
		var r rune
		switch e := b[i+1]; e {
		case '"', '\\', '/':
			r = rune(e)
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			var ok bool
			if r, ok = hex4(b, i+2); !ok {
				return dst, i, last, cut, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r = surrogatePair(b, &i, r)
			}
		default:
			return dst, i, last, cut, false
		}
		i += 2
		if len(dst) < limit {
			dst = utf8.AppendRune(dst, r)
		} else {
			cut = true
		}
		last = 0x80
		if r < utf8.RuneSelf {
			last = byte(r)
		}
	}
	return dst, i, last, cut, false
}

// surrogatePair combines high surrogate r, whose escape ends at b[*i+2], with
// a following \uXXXX low surrogate, advancing *i past it. Without a valid
// partner it returns U+FFFD and leaves *i alone.
func surrogatePair(b []byte, i *int, r rune) rune {
	j := *i + 2
	if j+6 <= len(b) && b[j] == '\\' && b[j+1] == 'u' {
		if r2, ok := hex4(b, j+2); ok {
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				*i += 6
				return dec
			}
		}
	}
	return utf8.RuneError
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skipValue validates the JSON value at b[i] and returns the index after it.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanString(b, i+1)
		return end, ok
	case c == '{' || c == '[':
		return skipContainer(b, i, depth+1)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(b, i)
	}
	return i, false
}

// skipContainer validates the object or array opening at b[i].
func skipContainer(b []byte, i, depth int) (int, bool) {
	if depth > maxJSONDepth {
		return i, false
	}
	closer, object := byte(']'), b[i] == '{'
	if object {
		closer = '}'
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, true
	}
	for {
		ok := true
		if object {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			if i, _, ok = scanString(b, i+1); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			i = skipWS(b, i+1)
		}
		if i, ok = skipValue(b, i, depth); !ok {
			return i, false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, false
		}
		if b[i] == closer {
			return i + 1, true
		}
		if b[i] != ',' {
			return i, false
		}
		i = skipWS(b, i+1)
	}
}

func skipLiteral(b []byte, i int, lit string) (int, bool) {
	if !bytes.HasPrefix(b[i:], []byte(lit)) {
		return i, false
	}
	return i + len(lit), true
}

// skipNumber follows the JSON number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
func skipNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// parseTime reads an RFC 3339 timestamp and returns it in UTC. The layout
// container runtimes write is parsed by hand; the rest goes through
// time.Parse, which allocates, so callers check a line's shape first.
func parseTime(b []byte) (time.Time, bool) {
	if t, ok := parseRFC3339(b); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// parseRFC3339 handles "2006-01-02T15:04:05[.fraction](Z|±hh:mm)" without
// allocating; the offset is folded into a UTC time instead of a new zone.
func parseRFC3339(b []byte) (time.Time, bool) {
	if len(b) < len("2006-01-02T15:04:05Z") ||
		b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	i, nsec := 19, 0
	if b[i] == '.' {
		i++
		start := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if i-start < 9 {
				nsec = nsec*10 + int(b[i]-'0')
			}
		}
		if i == start {
			return time.Time{}, false
		}
		for n := i - start; n < 9; n++ {
			nsec *= 10
		}
	}
	zone := 0
	switch rest := b[i:]; {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		hh, okh := digits(rest[1:3])
		mm, okm := digits(rest[4:6])
		if !okh || !okm || hh > 23 || mm > 59 {
			return time.Time{}, false
		}
		zone = (hh*60 + mm) * 60
		if rest[0] == '-' {
			zone = -zone
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if zone != 0 {
		t = t.Add(-time.Duration(zone) * time.Second)
	}
	return t, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
