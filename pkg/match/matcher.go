package match

import (
	"bytes"
	"unicode/utf8"
)

// Matcher matches lines against one Pattern. It owns lazily built automata
// and scratch space, so it is not safe for concurrent use: create one per
// goroutine with Pattern.NewMatcher.
type Matcher struct {
	p        *Pattern
	boolDFA  []*dfa  // per segment: exact-span matching
	firstDFA *dfa    // last segment: leftmost-first end
	segPike  []*pike // per segment, built on first use
	segBT    []*backtracker
	fullPike *pike
	fullBT   *backtracker
	pcaps    []int

	line   []byte
	caps   []int
	budget int
}

// result of the fast path: it may decline a line it cannot settle cheaply.
type result int8

const (
	no result = iota
	yes
	giveUp
)

// NewMatcher returns a matcher for p.
func (p *Pattern) NewMatcher() *Matcher {
	m := &Matcher{
		p:       p,
		boolDFA: make([]*dfa, len(p.segs)),
		segPike: make([]*pike, len(p.segs)),
		segBT:   make([]*backtracker, len(p.segs)),
		pcaps:   make([]int, max(p.full.NumCap, 2)),
	}
	for i, s := range p.segs {
		if s.prog == nil || !s.dfaOK {
			continue
		}
		if s.kind == segLast {
			m.firstDFA = newDFA(s.prog, p.looks, true)
		} else {
			m.boolDFA[i] = newDFA(s.prog, p.looks, false)
		}
	}
	return m
}

// Match reports whether line matches. caps must have room for two offsets
// per field; Match sets caps[2*i], caps[2*i+1] to the span of field i in
// line, or -1, -1 when the field did not take part. The captures are those
// of the leftmost-first match, the same as Go's regexp would report.
func (m *Matcher) Match(line []byte, caps []int) bool {
	p := m.p
	n := 2 * len(p.fields)
	for i := range caps[:n] {
		caps[i] = -1
	}
	if len(p.required) > 0 && !bytes.Contains(line, p.required) {
		return false
	}
	m.line, m.caps = line, caps
	m.budget = 256 + 8*len(line)
	r := m.fast()
	if r == yes {
		return true
	}
	for i := range caps[:n] { // a failed attempt may have left spans behind
		caps[i] = -1
	}
	return r == giveUp && m.slow()
}

// slow runs the Pike VM over the whole line: linear time, exact, and used
// only when the fast path declines.
func (m *Matcher) slow() bool {
	if m.fullBT == nil {
		m.fullBT = newBacktracker(m.p.full, m.p.looks)
	}
	var ok bool
	if m.fullBT.fits(len(m.line)) {
		ok = m.fullBT.run(m.line, 0, -1, m.p.anchored, m.pcaps)
	} else {
		if m.fullPike == nil {
			m.fullPike = newPike(m.p.full, m.p.looks)
		}
		ok = m.fullPike.run(m.line, 0, -1, m.p.anchored, m.pcaps)
	}
	if !ok {
		return false
	}
	for i, slot := range m.p.fieldSlot {
		if slot >= 0 {
			m.caps[2*i], m.caps[2*i+1] = m.pcaps[slot], m.pcaps[slot+1]
		}
	}
	return true
}

func (m *Matcher) fast() result {
	p, line := m.p, m.line
	s0 := p.segs[0]
	switch {
	case p.anchored:
		return m.from(0, 0)
	case s0.empty() && s0.lit != nil:
		// The match starts with a literal: try its occurrences in order.
		for at := 0; at <= len(line); {
			j := bytes.Index(line[at:], s0.lit)
			if j < 0 {
				return no
			}
			if r := m.from(0, at+j); r != no {
				return r
			}
			if m.spend(1) {
				return giveUp
			}
			at += j + 1
		}
		return no
	case s0.kind == segUnique:
		return m.scanUnique()
	}
	// A leading repetition or a pattern without literals: try each start.
	for s := 0; s <= len(line); {
		if s == len(line) || p.firstByte[line[s]] {
			if r := m.from(0, s); r != no {
				return r
			}
			if m.spend(1) {
				return giveUp
			}
		}
		if s == len(line) {
			break
		}
		s += runeWidth(line, s)
	}
	return no
}

// scanUnique finds the leftmost start of a match whose first segment cannot
// contain the first byte of the literal after it: for each occurrence q of
// that byte, the segment must fill line[s:q] for some s after the previous
// occurrence, and the smallest such s is the leftmost start.
func (m *Matcher) scanUnique() result {
	line, s0 := m.line, m.p.segs[0]
	for lo := 0; lo <= len(line); {
		j := bytes.IndexByte(line[lo:], s0.lit[0])
		if j < 0 {
			return no
		}
		q := lo + j
		if bytes.HasPrefix(line[q:], s0.lit) {
			for s := lo; s <= q; s += runeWidth(line, s) {
				if !m.p.firstByte[byteAt(line, s)] && s < q {
					continue
				}
				ok, r := m.span(0, s, q)
				if r == giveUp || m.spend(q-s) {
					return giveUp
				}
				if ok {
					if r := m.from(1, q+len(s0.lit)); r != no {
						return r
					}
					break
				}
				if s == q {
					break
				}
			}
		}
		lo = q + 1
	}
	return no
}

func byteAt(line []byte, i int) byte {
	if i < len(line) {
		return line[i]
	}
	return 0
}

func runeWidth(line []byte, i int) int {
	if line[i] < utf8.RuneSelf {
		return 1
	}
	_, w := utf8.DecodeRune(line[i:])
	return w
}

// spend charges the fast path's work budget and reports exhaustion.
func (m *Matcher) spend(n int) bool {
	m.budget -= n + 1
	return m.budget < 0
}

// from matches segments i.. with segment i starting at pos.
func (m *Matcher) from(i, pos int) result {
	seg, line := m.p.segs[i], m.line
	switch seg.kind {
	case segLast:
		return m.last(i, pos)
	case segUnique:
		e := pos
		if !seg.empty() {
			j := bytes.IndexByte(line[pos:], seg.lit[0])
			if j < 0 {
				return no
			}
			e = pos + j
		}
		if !bytes.HasPrefix(line[e:], seg.lit) {
			return no
		}
		if !seg.empty() {
			ok, r := m.span(i, pos, e)
			if r == giveUp {
				return giveUp
			}
			if !ok {
				return no
			}
		}
		return m.from(i+1, e+len(seg.lit))
	case segAmbiguous:
		d := m.boolDFA[i]
		if d == nil { // too many lookbehinds for the DFA's context bits
			return giveUp
		}
		e, n, scanned, fine := d.ends(line, pos, seg.lit)
		if !fine {
			d.reset()
			return giveUp
		}
		if m.spend(scanned) {
			return giveUp
		}
		switch {
		case n == 0:
			return no
		case n > 1:
			// Several ends: which one wins depends on the priorities
			// inside the segment; the Pike VM knows them.
			return giveUp
		}
		if seg.field >= 0 {
			m.caps[2*seg.field], m.caps[2*seg.field+1] = pos, e
		} else if len(seg.fields) > 0 {
			if !m.captures(i, pos, e) {
				return no
			}
			m.copyCaps(seg, pos, e)
		}
		return m.from(i+1, e+len(seg.lit))
	}
	return m.repeat(i, pos)
}

// repeat tries the ends of a x* / x+ segment in backtracking order: shortest
// first when lazy, longest first when greedy.
func (m *Matcher) repeat(i, pos int) result {
	seg, line := m.p.segs[i], m.line
	limit := pos
	switch {
	case seg.star.any && seg.star.nl:
		limit = len(line)
	case seg.star.any:
		// %{DATA} and %{GREEDYDATA}: everything up to a newline.
		if j := bytes.IndexByte(line[pos:], '\n'); j >= 0 {
			limit = pos + j
		} else {
			limit = len(line)
		}
	}
	for limit < len(line) && !seg.star.any {
		r, w := rune(line[limit]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRune(line[limit:])
		}
		if !seg.star.has(r) {
			break
		}
		limit += w
	}
	if m.spend(limit - pos) {
		return giveUp
	}
	lo := pos
	if seg.plus {
		if limit == pos {
			return no
		}
		lo = pos + runeWidth(line, pos)
	}
	try := func(e int) result {
		if seg.field >= 0 {
			m.caps[2*seg.field], m.caps[2*seg.field+1] = pos, e
		}
		if r := m.from(i+1, e+len(seg.lit)); r != no {
			return r
		}
		if m.spend(1) {
			return giveUp
		}
		return no
	}
	if seg.kind == segLazy {
		for at := lo; at <= limit; {
			j := bytes.Index(line[at:min(len(line), limit+len(seg.lit))], seg.lit)
			if j < 0 {
				return no
			}
			if r := try(at + j); r != no {
				return r
			}
			at += j + 1
		}
		return no
	}
	for hi := min(len(line), limit+len(seg.lit)); hi >= lo; {
		j := bytes.LastIndex(line[lo:hi], seg.lit)
		if j < 0 {
			return no
		}
		e := lo + j
		if r := try(e); r != no {
			return r
		}
		hi = e + len(seg.lit) - 1
	}
	return no
}

// span matches segment i against exactly line[s:e] and records its captures.
func (m *Matcher) span(i, s, e int) (bool, result) {
	seg := m.p.segs[i]
	if d := m.boolDFA[i]; d != nil {
		ok, fine := d.fullMatch(m.line, s, e)
		if !fine {
			d.reset()
			return false, giveUp
		}
		if !ok {
			return false, no
		}
		if len(seg.fields) == 0 {
			if seg.field >= 0 {
				m.caps[2*seg.field], m.caps[2*seg.field+1] = s, e
			}
			return true, yes
		}
	}
	if !m.captures(i, s, e) {
		return false, no
	}
	m.copyCaps(seg, s, e)
	return true, yes
}

// last matches the final segment from pos, ending where a backtracking
// engine would end it.
func (m *Matcher) last(i, pos int) result {
	seg := m.p.segs[i]
	if seg.empty() {
		return yes
	}
	if d := m.firstDFA; d != nil && len(seg.fields) == 0 {
		e, scanned, fine := d.firstEnd(m.line, pos)
		if !fine {
			d.reset()
			return giveUp
		}
		if m.spend(scanned) {
			return giveUp
		}
		if e < 0 {
			return no
		}
		if seg.field >= 0 {
			m.caps[2*seg.field], m.caps[2*seg.field+1] = pos, e
		}
		return yes
	}
	if !m.captures(i, pos, -1) {
		return no
	}
	m.copyCaps(seg, pos, m.pcaps[1])
	return yes
}

// captures runs segment i anchored at s (ending exactly at e when e >= 0)
// with an engine that reports captures into m.pcaps: the backtracker when
// its bitmap is small, else the Pike VM.
func (m *Matcher) captures(i, s, e int) bool {
	n := len(m.line) - s
	if e >= 0 {
		n = e - s
	}
	if m.segBT[i] == nil {
		m.segBT[i] = newBacktracker(m.p.segs[i].prog, m.p.looks)
	}
	if bt := m.segBT[i]; bt.fits(n) {
		return bt.run(m.line, s, e, true, m.pcaps)
	}
	if m.segPike[i] == nil {
		m.segPike[i] = newPike(m.p.segs[i].prog, m.p.looks)
	}
	return m.segPike[i].run(m.line, s, e, true, m.pcaps)
}

func (m *Matcher) copyCaps(seg *segment, s, e int) {
	if seg.field >= 0 {
		m.caps[2*seg.field], m.caps[2*seg.field+1] = s, e
		return
	}
	for _, f := range seg.fields {
		slot := m.p.fieldSlot[f]
		m.caps[2*f], m.caps[2*f+1] = m.pcaps[slot], m.pcaps[slot+1]
	}
}
