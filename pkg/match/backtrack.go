package match

import (
	"regexp/syntax"
	"unicode/utf8"
)

// backtracker explores the program depth-first in priority order, so the
// first match it finds is the leftmost-first one. A bitmap of visited
// (instruction, position) pairs keeps it linear; it is used where that
// bitmap is small (short spans, moderate programs), where it beats the Pike
// VM by avoiding thread bookkeeping.
type backtracker struct {
	prog    *syntax.Prog
	looks   map[uint32]*look
	visited []uint64
	jobs    []btJob
	cap     []int
}

type btJob struct {
	pc  uint32
	arg bool // second visit: take the Alt's other branch or restore a capture
	pos int  // position, or the capture value to restore
}

// maxBacktrackBits bounds the visited bitmap (128 KiB); larger problems go to
// the Pike VM.
const maxBacktrackBits = 1 << 20

func newBacktracker(prog *syntax.Prog, looks map[uint32]*look) *backtracker {
	return &backtracker{prog: prog, looks: looks, cap: make([]int, max(prog.NumCap, 2))}
}

// fits reports whether a span of n bytes is small enough for the bitmap.
func (b *backtracker) fits(n int) bool {
	return len(b.prog.Inst)*(n+1) <= maxBacktrackBits
}

// run matches like pike.run: from start, anchored or not, ending exactly at
// end when end >= 0. Captures go into caps.
func (b *backtracker) run(line []byte, start, end int, anchored bool, caps []int) bool {
	limit := len(line)
	if end >= 0 {
		limit = end
	}
	width := limit - start + 1
	nbits := len(b.prog.Inst) * width
	words := (nbits + 63) / 64
	if cap(b.visited) < words {
		b.visited = make([]uint64, words)
	} else {
		b.visited = b.visited[:words]
		clear(b.visited)
	}
	for pos := start; pos <= limit; {
		if b.try(line, start, limit, end >= 0, pos) {
			copy(caps, b.cap)
			return true
		}
		if anchored || pos == limit {
			break
		}
		pos += runeWidth(line, pos)
	}
	return false
}

func (b *backtracker) seen(pc uint32, pos, start, width int) bool {
	n := int(pc)*width + (pos - start)
	w, bit := n/64, uint64(1)<<(n%64)
	if b.visited[w]&bit != 0 {
		return true
	}
	b.visited[w] |= bit
	return false
}

func (b *backtracker) try(line []byte, start, limit int, exactEnd bool, pos0 int) bool {
	for i := range b.cap {
		b.cap[i] = -1
	}
	b.cap[0] = pos0
	width := limit - start + 1
	b.jobs = append(b.jobs[:0], btJob{pc: uint32(b.prog.Start), pos: pos0})
	for len(b.jobs) > 0 {
		j := b.jobs[len(b.jobs)-1]
		b.jobs = b.jobs[:len(b.jobs)-1]
		pc, pos := j.pc, j.pos
		if j.arg {
			inst := &b.prog.Inst[pc]
			if inst.Op == syntax.InstCapture {
				b.cap[inst.Arg] = j.pos // restore on the way back
				continue
			}
			pc = inst.Arg // the Alt's second branch
		}
		for {
			if b.seen(pc, pos, start, width) {
				break
			}
			inst := &b.prog.Inst[pc]
			switch inst.Op {
			case syntax.InstFail:
			case syntax.InstAlt, syntax.InstAltMatch:
				b.jobs = append(b.jobs, btJob{pc: pc, arg: true, pos: pos})
				pc = inst.Out
				continue
			case syntax.InstNop:
				pc = inst.Out
				continue
			case syntax.InstEmptyWidth:
				if emptyAt(syntax.EmptyOp(inst.Arg), line, pos) {
					pc = inst.Out
					continue
				}
			case syntax.InstCapture:
				if l := b.looks[inst.Arg]; l != nil && !l.holds(line, pos) {
					break
				}
				if int(inst.Arg) < len(b.cap) {
					b.jobs = append(b.jobs, btJob{pc: pc, arg: true, pos: b.cap[inst.Arg]})
					b.cap[inst.Arg] = pos
				}
				pc = inst.Out
				continue
			case syntax.InstMatch:
				if exactEnd && pos != limit {
					break
				}
				b.cap[1] = pos
				return true
			default:
				if pos >= limit {
					break
				}
				r, w := rune(line[pos]), 1
				if r >= utf8.RuneSelf {
					r, w = utf8.DecodeRune(line[pos:])
				}
				if instMatches(inst, r) {
					pos += w
					pc = inst.Out
					continue
				}
			}
			break
		}
	}
	return false
}
