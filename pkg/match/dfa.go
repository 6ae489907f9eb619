package match

import (
	"bytes"
	"encoding/binary"
	"regexp/syntax"
	"slices"
	"unicode/utf8"
)

// dfa is a lazily built deterministic automaton over a syntax.Prog. It answers
// two questions without backtracking and without allocating once warm:
//
//   - fullMatch: does the program match exactly line[s:e]?
//   - firstEnd: where does the leftmost-first (Perl-order) match that starts
//     at s end?
//
// Empty-width assertions and single-rune lookarounds see the real runes
// around the span, so a span can be matched in the context of its line.
// States are sets of program counters in priority order; in "first" mode the
// threads of lower priority than a match are cut, which is what makes the end
// position agree with a backtracking engine.
type dfa struct {
	prog  *syntax.Prog
	first bool

	looks   map[uint32]*look // keyed by the InstCapture Arg that opens the placeholder group
	behinds []*look          // single-rune lookbehinds; bit ctxLookBehind<<i of a context
	lookBit map[*look]uint32

	classOf [128]uint8 // ASCII byte -> equivalence class
	nclass  int

	states    map[string]*dstate
	starts    map[uint32]*dstate
	maxStates int

	// scratch, reused across steps
	visited []uint32
	queued  []uint32
	gen     uint32
	stack   []uint32
	kernel  []uint32
	key     []byte
}

type dstate struct {
	kernel []uint32 // pcs to continue from, in priority order
	ctx    uint32   // what the last consumed rune was (ctx* bits)
	next   []*dstate
	match  []bool // per class: a match ends before the rune of that class
	eot    int8   // match at end of text: 0 unknown, 1 no, 2 yes
}

const (
	ctxStart uint32 = 1 << iota // no rune before: start of text
	ctxNewline
	ctxWord
	ctxLookBehind // first lookbehind bit; lookbehind i uses ctxLookBehind << i
)

const maxDFALookBehinds = 28

// newDFA returns nil when the program uses assertions the DFA cannot evaluate.
func newDFA(prog *syntax.Prog, looks map[uint32]*look, first bool) *dfa {
	// Only the lookarounds this program contains matter.
	own := map[uint32]*look{}
	for i := range prog.Inst {
		if inst := &prog.Inst[i]; inst.Op == syntax.InstCapture && looks[inst.Arg] != nil {
			own[inst.Arg] = looks[inst.Arg]
		}
	}
	looks = own
	d := &dfa{prog: prog, first: first, looks: looks, maxStates: 10000, lookBit: map[*look]uint32{}}
	for _, l := range looks {
		if l.single == nil {
			return nil
		}
		if l.behind {
			d.lookBit[l] = ctxLookBehind << len(d.behinds)
			d.behinds = append(d.behinds, l)
		}
	}
	if len(d.behinds) > maxDFALookBehinds {
		return nil
	}
	d.buildClasses()
	d.visited = make([]uint32, len(prog.Inst))
	d.queued = make([]uint32, len(prog.Inst))
	d.reset()
	return d
}

func (d *dfa) reset() {
	d.states = make(map[string]*dstate)
	d.starts = make(map[uint32]*dstate)
}

// buildClasses groups ASCII bytes that no instruction or assertion can tell
// apart, so that transition tables stay small.
func (d *dfa) buildClasses() {
	var sig []byte
	seen := map[string]uint8{}
	keys := make([]uint32, 0, len(d.looks))
	for k := range d.looks {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a fixed order: the signature must be comparable across bytes
	for b := 0; b < 128; b++ {
		r := rune(b)
		sig = sig[:0]
		for i := range d.prog.Inst {
			inst := &d.prog.Inst[i]
			switch inst.Op {
			case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
				sig = append(sig, boolByte(instMatches(inst, r)))
			}
		}
		sig = append(sig, boolByte(r == '\n'), boolByte(syntax.IsWordChar(r)))
		for _, k := range keys {
			sig = append(sig, boolByte(d.looks[k].single.has(r)))
		}
		c, ok := seen[string(sig)]
		if !ok {
			c = uint8(len(seen))
			seen[string(sig)] = c
		}
		d.classOf[b] = c
	}
	d.nclass = len(seen)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func instMatches(inst *syntax.Inst, r rune) bool {
	switch inst.Op {
	case syntax.InstRuneAny:
		return true
	case syntax.InstRuneAnyNotNL:
		return r != '\n'
	}
	return inst.MatchRune(r)
}

// ctxOf describes rune r as the rune before the next position.
func (d *dfa) ctxOf(r rune) uint32 {
	var c uint32
	if r == '\n' {
		c |= ctxNewline
	}
	if syntax.IsWordChar(r) {
		c |= ctxWord
	}
	for i, l := range d.behinds {
		if l.single.has(r) {
			c |= ctxLookBehind << i
		}
	}
	return c
}

func (d *dfa) ctxAt(line []byte, pos int) uint32 {
	if pos == 0 {
		return ctxStart
	}
	r, _ := utf8.DecodeLastRune(line[:pos])
	return d.ctxOf(r)
}

func emptyOK(op syntax.EmptyOp, ctx uint32, next rune) bool {
	if op&syntax.EmptyBeginText != 0 && ctx&ctxStart == 0 {
		return false
	}
	if op&syntax.EmptyBeginLine != 0 && ctx&(ctxStart|ctxNewline) == 0 {
		return false
	}
	if op&syntax.EmptyEndText != 0 && next >= 0 {
		return false
	}
	if op&syntax.EmptyEndLine != 0 && next >= 0 && next != '\n' {
		return false
	}
	if op&(syntax.EmptyWordBoundary|syntax.EmptyNoWordBoundary) != 0 {
		boundary := (ctx&ctxWord != 0) != (next >= 0 && syntax.IsWordChar(next))
		if op&syntax.EmptyWordBoundary != 0 && !boundary {
			return false
		}
		if op&syntax.EmptyNoWordBoundary != 0 && boundary {
			return false
		}
	}
	return true
}

// closure follows the epsilon moves from kernel with the given context and
// next rune (-1 at end of text), steps over next, and reports whether a match
// was reached before next. The new kernel is left in d.kernel.
func (d *dfa) closure(kernel []uint32, ctx uint32, next rune) bool {
	d.gen++
	if d.gen == 0 { // wrapped: clear the marks once
		clear(d.visited)
		clear(d.queued)
		d.gen = 1
	}
	out := d.kernel[:0]
	matched := false
	for _, start := range kernel {
		stack := append(d.stack[:0], start)
		for len(stack) > 0 {
			pc := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if d.visited[pc] == d.gen {
				continue
			}
			d.visited[pc] = d.gen
			inst := &d.prog.Inst[pc]
			switch inst.Op {
			case syntax.InstAlt, syntax.InstAltMatch:
				stack = append(stack, inst.Arg, inst.Out)
			case syntax.InstNop:
				stack = append(stack, inst.Out)
			case syntax.InstCapture:
				if l := d.looks[inst.Arg]; l != nil && !d.lookHolds(l, ctx, next) {
					continue
				}
				stack = append(stack, inst.Out)
			case syntax.InstEmptyWidth:
				if emptyOK(syntax.EmptyOp(inst.Arg), ctx, next) {
					stack = append(stack, inst.Out)
				}
			case syntax.InstMatch:
				matched = true
				if d.first {
					// Everything still to explore has lower priority than
					// this match: cut it.
					d.stack = stack
					d.kernel = out
					return true
				}
			case syntax.InstFail:
			default:
				if next >= 0 && instMatches(inst, next) && d.queued[inst.Out] != d.gen {
					d.queued[inst.Out] = d.gen
					out = append(out, inst.Out)
				}
			}
		}
		d.stack = stack
	}
	d.kernel = out
	return matched
}

// lookHolds evaluates a single-rune lookaround from the context bits of the
// previous rune and the next rune.
func (d *dfa) lookHolds(l *look, ctx uint32, next rune) bool {
	in := false
	if l.behind {
		in = ctx&d.lookBit[l] != 0
	} else {
		in = l.single.has(next)
	}
	return in != l.negative
}

func (d *dfa) intern(kernel []uint32, ctx uint32) (*dstate, bool) {
	key := binary.LittleEndian.AppendUint32(d.key[:0], ctx)
	for _, pc := range kernel {
		key = binary.LittleEndian.AppendUint32(key, pc)
	}
	d.key = key
	if s, ok := d.states[string(key)]; ok {
		return s, true
	}
	if len(d.states) >= d.maxStates {
		return nil, false
	}
	s := &dstate{
		kernel: append([]uint32(nil), kernel...),
		ctx:    ctx,
		next:   make([]*dstate, d.nclass),
		match:  make([]bool, d.nclass),
	}
	d.states[string(key)] = s
	return s, true
}

func (d *dfa) start(ctx uint32) (*dstate, bool) {
	if s, ok := d.starts[ctx]; ok {
		return s, true
	}
	s, ok := d.intern([]uint32{uint32(d.prog.Start)}, ctx)
	if ok {
		d.starts[ctx] = s
	}
	return s, ok
}

// step moves s over rune r (r >= 0) and reports whether a match ended before r.
func (d *dfa) step(s *dstate, r rune) (*dstate, bool, bool) {
	if r < 128 {
		c := d.classOf[r]
		if n := s.next[c]; n != nil {
			return n, s.match[c], true
		}
		matched := d.closureCtx(s, r)
		n, ok := d.intern(d.kernel, d.ctxOf(r))
		if !ok {
			return nil, false, false
		}
		s.next[c], s.match[c] = n, matched
		return n, matched, true
	}
	matched := d.closureCtx(s, r)
	n, ok := d.intern(d.kernel, d.ctxOf(r))
	return n, matched, ok
}

func (d *dfa) closureCtx(s *dstate, r rune) bool {
	return d.closure(s.kernel, s.ctx, r)
}

// matchAtEnd reports whether a match ends at the current position, given the
// rune that follows it (-1 at end of text).
func (d *dfa) matchAtEnd(s *dstate, next rune) (bool, bool) {
	if next < 0 {
		if s.eot == 0 {
			s.eot = 1
			if d.closure(s.kernel, s.ctx, -1) {
				s.eot = 2
			}
		}
		return s.eot == 2, true
	}
	_, m, ok := d.step(s, next)
	return m, ok
}

// fullMatch reports whether the program matches exactly line[s:e]. ok is
// false when the state budget ran out; the caller must use another engine.
func (d *dfa) fullMatch(line []byte, s, e int) (matched, ok bool) {
	st, ok := d.start(d.ctxAt(line, s))
	if !ok {
		return false, false
	}
	for pos := s; pos < e; {
		if b := line[pos]; b < utf8.RuneSelf {
			// Hot loop: a cached transition on an ASCII byte.
			if n := st.next[d.classOf[b]]; n != nil {
				if len(n.kernel) == 0 {
					return false, true
				}
				st = n
				pos++
				continue
			}
		}
		r, w := rune(line[pos]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRune(line[pos:])
		}
		st, _, ok = d.step(st, r)
		if !ok {
			return false, false
		}
		if len(st.kernel) == 0 {
			return false, true
		}
		pos += w
	}
	next := rune(-1)
	if e < len(line) {
		next, _ = utf8.DecodeRune(line[e:])
	}
	return d.matchAtEnd(st, next)
}

// firstEnd returns the end of the leftmost-first match starting at s, or
// -1, and how many bytes it looked at.
func (d *dfa) firstEnd(line []byte, s int) (end, scanned int, ok bool) {
	end, pos, ok := d.firstEndAt(line, s)
	return end, pos - s, ok
}

func (d *dfa) firstEndAt(line []byte, s int) (end, pos int, ok bool) {
	st, ok := d.start(d.ctxAt(line, s))
	if !ok {
		return -1, s, false
	}
	end = -1
	pos = s
	for pos < len(line) {
		if b := line[pos]; b < utf8.RuneSelf {
			c := d.classOf[b]
			if n := st.next[c]; n != nil {
				if st.match[c] {
					end = pos
				}
				if len(n.kernel) == 0 {
					return end, pos, true
				}
				st = n
				pos++
				continue
			}
		}
		r, w := rune(line[pos]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRune(line[pos:])
		}
		var m bool
		st, m, ok = d.step(st, r)
		if !ok {
			return -1, pos, false
		}
		if m {
			end = pos
		}
		if len(st.kernel) == 0 {
			return end, pos, true
		}
		pos += w
	}
	m, ok := d.matchAtEnd(st, -1)
	if m {
		end = pos
	}
	return end, pos, ok
}

// ends runs once from s and finds the positions p where the program matches
// exactly line[s:p] and line[p:] starts with lit. It returns the first such
// p and how many there are (counting stops at 2), or ok=false when the
// state budget ran out.
func (d *dfa) ends(line []byte, s int, lit []byte) (first, count, scanned int, ok bool) {
	st, ok := d.start(d.ctxAt(line, s))
	if !ok {
		return -1, 0, 0, false
	}
	first = -1
	pos := s
	for pos < len(line) {
		r, w := rune(line[pos]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRune(line[pos:])
		}
		var m bool
		st, m, ok = d.step(st, r)
		if !ok {
			return -1, 0, pos - s, false
		}
		if m && line[pos] == lit[0] && bytes.HasPrefix(line[pos:], lit) {
			if count == 0 {
				first = pos
			}
			if count++; count > 1 {
				return first, count, pos - s, true
			}
		}
		if len(st.kernel) == 0 {
			break
		}
		pos += w
	}
	return first, count, pos - s, true
}
