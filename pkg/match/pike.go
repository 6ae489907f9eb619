package match

import (
	"regexp/syntax"
	"unicode/utf8"
)

// pike is a Pike VM: it runs all threads of a program in lock step, so it
// takes time linear in the input whatever the pattern. It reports the
// captures of the leftmost-first match, as Go's regexp would, and evaluates
// every supported lookaround. The matcher uses it where the DFA cannot
// answer: spans with several captures, multi-rune lookarounds, and lines on
// which the fast path gave up.
type pike struct {
	prog  *syntax.Prog
	looks map[uint32]*look
	ncap  int

	runq, nextq *pqueue
	free        [][]int
	matchCap    []int
	stack       []pframe
}

type pqueue struct {
	sparse []uint32
	dense  []pentry
}

type pentry struct {
	pc  uint32
	cap []int // nil for pcs that are not threads (epsilon instructions)
}

func newPike(prog *syntax.Prog, looks map[uint32]*look) *pike {
	ncap := prog.NumCap
	if ncap < 2 {
		ncap = 2
	}
	n := len(prog.Inst)
	return &pike{
		prog:     prog,
		looks:    looks,
		ncap:     ncap,
		runq:     &pqueue{sparse: make([]uint32, n), dense: make([]pentry, 0, n)},
		nextq:    &pqueue{sparse: make([]uint32, n), dense: make([]pentry, 0, n)},
		matchCap: make([]int, ncap),
	}
}

func (q *pqueue) contains(pc uint32) bool {
	j := q.sparse[pc]
	return j < uint32(len(q.dense)) && q.dense[j].pc == pc
}

func (q *pqueue) add(pc uint32) *pentry {
	q.sparse[pc] = uint32(len(q.dense))
	q.dense = append(q.dense, pentry{pc: pc})
	return &q.dense[len(q.dense)-1]
}

func (p *pike) alloc() []int {
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		return c
	}
	return make([]int, p.ncap)
}

func (p *pike) clear(q *pqueue) {
	for _, e := range q.dense {
		if e.cap != nil {
			p.free = append(p.free, e.cap)
		}
	}
	q.dense = q.dense[:0]
}

// run looks for a match in line starting at start. With anchored, the match
// must start at start; with end >= 0 it must end exactly there (and nothing
// past end is consumed). Captures of the match go into caps (len >= ncap).
func (p *pike) run(line []byte, start, end int, anchored bool, caps []int) bool {
	limit := len(line)
	exactEnd := end >= 0
	if exactEnd {
		limit = end
	}
	matched := false
	p.clear(p.runq)
	p.clear(p.nextq)
	seed := p.alloc()
	defer func() { p.free = append(p.free, seed) }()
	for pos := start; ; {
		if len(p.runq.dense) == 0 && (matched || (anchored && pos > start)) {
			break
		}
		if !matched && (!anchored || pos == start) {
			for i := range seed {
				seed[i] = -1
			}
			seed[0] = pos
			p.addThread(p.runq, uint32(p.prog.Start), pos, seed, line)
		}
		r, w := rune(-1), 0
		if pos < limit {
			r, w = utf8.DecodeRune(line[pos:])
		}
		if p.step(pos, r, w, line, end, exactEnd) {
			matched = true
		}
		if w == 0 {
			break
		}
		pos += w
		p.runq, p.nextq = p.nextq, p.runq
	}
	p.clear(p.runq)
	p.clear(p.nextq)
	if matched {
		copy(caps, p.matchCap)
	}
	return matched
}

// step advances every thread of runq over rune r at pos into nextq and
// reports whether a match was recorded at pos.
func (p *pike) step(pos int, r rune, w int, line []byte, end int, exactEnd bool) bool {
	matched := false
	q := p.runq
	for i := 0; i < len(q.dense); i++ {
		e := &q.dense[i]
		if e.cap == nil {
			continue
		}
		inst := &p.prog.Inst[e.pc]
		if inst.Op == syntax.InstMatch {
			if exactEnd && pos != end {
				continue
			}
			copy(p.matchCap, e.cap)
			p.matchCap[1] = pos
			matched = true
			// Lower-priority threads cannot produce a preferred match.
			for _, rest := range q.dense[i+1:] {
				if rest.cap != nil {
					p.free = append(p.free, rest.cap)
				}
			}
			q.dense = q.dense[:i+1]
			break
		}
		if r >= 0 && instMatches(inst, r) {
			p.addThread(p.nextq, inst.Out, pos+w, e.cap, line)
		}
	}
	p.clear(q)
	return matched
}

type pframe struct {
	pc      uint32
	slot    int // capture slot to restore, or -1
	restore int
}

// addThread adds pc and everything reachable from it by epsilon moves at
// position pos to q, in priority order, with capture array cap.
func (p *pike) addThread(q *pqueue, pc0 uint32, pos int, cap []int, line []byte) {
	stack := append(p.stack[:0], pframe{pc: pc0, slot: -1})
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if f.slot >= 0 {
			cap[f.slot] = f.restore
			continue
		}
		pc := f.pc
		if q.contains(pc) {
			continue
		}
		e := q.add(pc)
		inst := &p.prog.Inst[pc]
		switch inst.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, pframe{pc: inst.Arg, slot: -1}, pframe{pc: inst.Out, slot: -1})
		case syntax.InstNop:
			stack = append(stack, pframe{pc: inst.Out, slot: -1})
		case syntax.InstEmptyWidth:
			if emptyAt(syntax.EmptyOp(inst.Arg), line, pos) {
				stack = append(stack, pframe{pc: inst.Out, slot: -1})
			}
		case syntax.InstCapture:
			if l := p.looks[inst.Arg]; l != nil && !l.holds(line, pos) {
				continue
			}
			if int(inst.Arg) < len(cap) {
				// Restore the slot once everything below is explored.
				stack = append(stack, pframe{slot: int(inst.Arg), restore: cap[inst.Arg]})
				cap[inst.Arg] = pos
			}
			stack = append(stack, pframe{pc: inst.Out, slot: -1})
		case syntax.InstFail:
		default: // rune instructions and InstMatch become threads
			c := p.alloc()
			copy(c, cap)
			e.cap = c
		}
	}
	p.stack = stack
}

func emptyAt(op syntax.EmptyOp, line []byte, pos int) bool {
	prev, next := rune(-1), rune(-1)
	if pos > 0 {
		prev, _ = utf8.DecodeLastRune(line[:pos])
	}
	if pos < len(line) {
		next, _ = utf8.DecodeRune(line[pos:])
	}
	return syntax.EmptyOpContext(prev, next)&op == op
}
