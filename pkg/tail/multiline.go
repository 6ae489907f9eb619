package tail

import (
	"errors"
	"regexp"
	"time"

	"github.com/logmeter/logmeter/pkg/logline"
)

// Multiline defaults, used for zero (or negative) config values.
const (
	DefaultMultilineMaxLines = 500
	DefaultMultilineMaxBytes = DefaultMaxLineBytes
	DefaultMultilineTimeout  = 2 * time.Second
)

// MultilineConfig says how decoded lines are grouped into records. Exactly
// one of Start and Continue should be set; Validate checks that.
type MultilineConfig struct {
	Start    *regexp.Regexp // a line matching Start begins a new record; other lines continue the current one
	Continue *regexp.Regexp // a line matching Continue belongs to the previous record; others start a new one
	MaxLines int            // a record with this many lines is complete; the next line starts a new record
	MaxBytes int            // bound on the joined text; longer records are cut and reported as too_long
	Timeout  time.Duration  // Flush delivers a record whose last line arrived at least this long ago
}

// Validate reports a config that does not say how records are delimited or
// holds negative bounds.
func (c MultilineConfig) Validate() error {
	var errs []error
	switch {
	case c.Start == nil && c.Continue == nil:
		errs = append(errs, errors.New("multiline: one of start or continue is required"))
	case c.Start != nil && c.Continue != nil:
		errs = append(errs, errors.New("multiline: start and continue are exclusive"))
	}
	if c.MaxLines < 0 {
		errs = append(errs, errors.New("multiline: max_lines must not be negative"))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, errors.New("multiline: max_bytes must not be negative"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("multiline: timeout must not be negative"))
	}
	return errors.Join(errs...)
}

// record is the pending multiline record of one stream.
type record struct {
	buf    []byte
	first  logline.Line // metadata of the first line; Text unused
	last   time.Time    // when the latest line was added
	lines  int
	active bool
	over   bool // buf reached MaxBytes; later bytes are dropped
}

// Multiline joins the decoded lines of one file into multi-line records such
// as stack traces. Lines of different streams never mix: each stream has its
// own pending record. It keeps state, so each file needs its own Multiline.
type Multiline struct {
	start    *regexp.Regexp
	cont     *regexp.Regexp
	maxLines int
	maxBytes int
	timeout  time.Duration
	recs     [numSlots]record
	out      []byte // text of the record last delivered
}

// NewMultiline returns a Multiline for c; zero bounds take the defaults.
// When c sets both Start and Continue, Start wins; when it sets neither,
// every line is a record of its own.
func NewMultiline(c MultilineConfig) *Multiline {
	m := &Multiline{
		start:    c.Start,
		cont:     c.Continue,
		maxLines: c.MaxLines,
		maxBytes: c.MaxBytes,
		timeout:  c.Timeout,
	}
	if m.start != nil {
		m.cont = nil
	}
	if m.maxLines <= 0 {
		m.maxLines = DefaultMultilineMaxLines
	}
	if m.maxBytes <= 0 {
		m.maxBytes = DefaultMultilineMaxBytes
	}
	if m.timeout <= 0 {
		m.timeout = DefaultMultilineTimeout
	}
	return m
}

// Add takes one decoded line read at time now; in.Text is copied, not kept.
// When in completes the pending record of its stream (in starts a new record,
// or the pending one already holds MaxLines lines) Add fills out with that
// record and returns done; in becomes the first line of the next record.
// Add never delivers by age: that is Flush's job, so a record is not split
// merely because the reader fell behind. A too_long reason reports that
// this line made its record exceed MaxBytes (once per record), whether or not
// a record is delivered. out.Text is valid until the next Add or Flush.
func (m *Multiline) Add(in *logline.Line, now time.Time, out *logline.Line) (done bool, reason string) {
	r := &m.recs[lineSlot(in.Stream)]
	if r.active && (r.lines >= m.maxLines || m.starts(in.Text)) {
		m.deliver(r, out)
		done = true
	}
	if !r.active {
		r.active, r.over = true, false
		r.buf, r.lines = r.buf[:0], 0
		r.first = *in
		r.first.Text = nil
	}
	r.lines++
	r.last = now
	if m.append(r, in.Text) {
		reason = ReasonTooLong
	}
	return done, reason
}

// Flush delivers the oldest pending record (by file offset) that is due at
// now: its last line arrived at least Timeout before now, or it already holds
// MaxLines lines. With force every pending record is due, e.g. at the end of
// input or at shutdown. Call it until it returns false to drain all streams.
// out.Text is valid until the next Add or Flush.
func (m *Multiline) Flush(now time.Time, force bool, out *logline.Line) bool {
	var best *record
	for s := range m.recs {
		r := &m.recs[s]
		if !r.active || (best != nil && r.first.Offset >= best.first.Offset) {
			continue
		}
		if force || r.lines >= m.maxLines || !now.Before(r.last.Add(m.timeout)) {
			best = r
		}
	}
	if best == nil {
		return false
	}
	m.deliver(best, out)
	return true
}

// PendingOffset reports the file offset of the first line of the oldest
// record not yet delivered. A checkpoint must not pass it, or the record
// would be lost after a restart.
func (m *Multiline) PendingOffset() (int64, bool) {
	off, ok := int64(0), false
	for s := range m.recs {
		if r := &m.recs[s]; r.active && (!ok || r.first.Offset < off) {
			off, ok = r.first.Offset, true
		}
	}
	return off, ok
}

// starts reports whether text begins a new record.
func (m *Multiline) starts(text []byte) bool {
	switch {
	case m.start != nil:
		return m.start.Match(text)
	case m.cont != nil:
		return !m.cont.Match(text)
	}
	return true
}

// deliver hands r to out and ends it. The buffers swap, so the text stays
// valid while r takes the next record and nothing is copied or allocated.
func (m *Multiline) deliver(r *record, out *logline.Line) {
	m.out, r.buf = r.buf, m.out[:0]
	r.active = false
	*out = r.first
	out.Text = m.out
}

// append adds line to r, after a '\n' unless it is the first, without letting
// r.buf outgrow maxBytes. It reports whether this line made r too long.
func (m *Multiline) append(r *record, line []byte) bool {
	if r.over {
		return false
	}
	sep := 0
	if r.lines > 1 {
		sep = 1
	}
	room := m.maxBytes - len(r.buf)
	if sep+len(line) <= room {
		if sep > 0 {
			r.buf = appendBounded(r.buf, []byte{'\n'}, m.maxBytes)
		}
		r.buf = appendBounded(r.buf, line, m.maxBytes)
		return false
	}
	r.over = true
	if room <= sep {
		return true
	}
	mark := len(r.buf)
	if sep > 0 {
		r.buf = appendBounded(r.buf, []byte{'\n'}, m.maxBytes)
	}
	keep := room - sep
	r.buf = appendBounded(r.buf, line[:keep], m.maxBytes)
	r.buf = r.buf[:runeCut(r.buf, line[keep])]
	if len(r.buf) == mark+sep {
		r.buf = r.buf[:mark] // no separator without text after it
	}
	return true
}

// lineSlot maps a line's stream to its pending record.
func lineSlot(stream string) int {
	switch stream {
	case "stdout":
		return slotStdout
	case "stderr":
		return slotStderr
	}
	return slotNone
}
