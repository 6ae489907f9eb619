package match

import (
	"fmt"
	"regexp/syntax"
	"sync"
	"unicode"
	"unicode/utf8"
)

// look is a lookaround assertion evaluated natively by the engines, so that
// a Logstash pattern like `(?<![0-9])...(?![0-9])` keeps its meaning instead
// of being rewritten into something that consumes the neighbouring rune.
//
// Only bodies that are alternatives of fixed-length rune sequences are
// supported (this is also all Oniguruma allows behind), e.g. `[0-9]`, `\\`,
// `<[0-9]` or `ab|c`.
type look struct {
	behind, negative bool
	alts             [][]*runeSet
	single           *runeSet // non-nil when every alternative is one rune: the DFA can evaluate it

	// A lookahead of any other shape, like Logstash's (?=%{GREEDYDATA}), is
	// an anchored match of its body; the pool holds backtrackers for it
	// because a Pattern is shared between goroutines.
	body *syntax.Prog
	bts  *sync.Pool
}

// runeSet matches a single rune.
type runeSet struct {
	ascii  [128]bool
	ranges []rune // pairs, for runes >= 128
	any    bool   // every rune but possibly '\n'
	nl     bool   // with any: '\n' too
}

func (s *runeSet) has(r rune) bool {
	if r < 0 {
		return false
	}
	if r < 128 {
		return s.ascii[r]
	}
	if s.any {
		return true
	}
	for i := 0; i+1 < len(s.ranges); i += 2 {
		if r >= s.ranges[i] && r <= s.ranges[i+1] {
			return true
		}
	}
	return false
}

func newRuneSet(ranges []rune, foldCase bool) *runeSet {
	s := &runeSet{}
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		for r := lo; r <= hi && r < 128; r++ {
			s.ascii[r] = true
		}
		if hi >= 128 {
			if lo < 128 {
				lo = 128
			}
			s.ranges = append(s.ranges, lo, hi)
		}
	}
	if foldCase {
		// Add every rune that folds to a member (K also matches the Kelvin
		// sign, s the long s), as regexp/syntax does for (?i).
		for i := 0; i+1 < len(ranges); i += 2 {
			for r := ranges[i]; r <= ranges[i+1]; r++ {
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					if f < 128 {
						s.ascii[f] = true
					} else {
						s.ranges = append(s.ranges, f, f)
					}
				}
			}
		}
	}
	return s
}

// compileLook turns a lookaround body (Go syntax) into a look.
func compileLook(l Lookaround) (*look, error) {
	kind := "lookahead"
	if l.Behind {
		kind = "lookbehind"
	}
	re, err := syntax.Parse(l.Body, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("uses %s with an invalid body: %w", kind, err)
	}
	alts, ok := fixedAlternatives(re.Simplify(), 64)
	if !ok {
		if l.Behind {
			// Only fixed-length bodies can be checked backwards.
			return nil, fmt.Errorf("uses %s, which is not supported", kind)
		}
		prog, err := syntax.Compile(re.Simplify())
		if err != nil {
			return nil, fmt.Errorf("uses %s with an invalid body: %w", kind, err)
		}
		lk := &look{negative: l.Negative, body: prog}
		lk.bts = &sync.Pool{New: func() any { return newBacktracker(prog, nil) }}
		return lk, nil
	}
	lk := &look{behind: l.Behind, negative: l.Negative, alts: alts}
	single := true
	for _, a := range alts {
		if len(a) != 1 {
			single = false
		}
	}
	if single && len(alts) > 0 {
		merged := &runeSet{}
		for _, a := range alts {
			s := a[0]
			for i := range merged.ascii {
				merged.ascii[i] = merged.ascii[i] || s.ascii[i]
			}
			merged.ranges = append(merged.ranges, s.ranges...)
			merged.any = merged.any || s.any
			merged.nl = merged.nl || s.nl
		}
		lk.single = merged
	}
	return lk, nil
}

// fixedAlternatives expands re into a list of fixed-length sequences of rune
// sets, or reports false when re is not of that shape (or too large).
func fixedAlternatives(re *syntax.Regexp, limit int) ([][]*runeSet, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return [][]*runeSet{{}}, true
	case syntax.OpLiteral:
		seq := make([]*runeSet, 0, len(re.Rune))
		for _, r := range re.Rune {
			seq = append(seq, newRuneSet([]rune{r, r}, re.Flags&syntax.FoldCase != 0))
		}
		return [][]*runeSet{seq}, true
	case syntax.OpCharClass:
		return [][]*runeSet{{newRuneSet(re.Rune, false)}}, true
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		s := &runeSet{any: true, nl: re.Op == syntax.OpAnyChar}
		for i := range s.ascii {
			s.ascii[i] = i != '\n' || s.nl
		}
		return [][]*runeSet{{s}}, true
	case syntax.OpCapture:
		return fixedAlternatives(re.Sub[0], limit)
	case syntax.OpAlternate:
		var out [][]*runeSet
		for _, sub := range re.Sub {
			a, ok := fixedAlternatives(sub, limit)
			if !ok || len(out)+len(a) > limit {
				return nil, false
			}
			out = append(out, a...)
		}
		return out, true
	case syntax.OpConcat:
		out := [][]*runeSet{{}}
		for _, sub := range re.Sub {
			a, ok := fixedAlternatives(sub, limit)
			if !ok || len(out)*len(a) > limit {
				return nil, false
			}
			var next [][]*runeSet
			for _, prefix := range out {
				for _, suffix := range a {
					seq := append(append([]*runeSet(nil), prefix...), suffix...)
					next = append(next, seq)
				}
			}
			out = next
		}
		return out, true
	}
	return nil, false
}

// holds evaluates the assertion at byte position pos of line.
func (l *look) holds(line []byte, pos int) bool {
	if l.body != nil {
		bt := l.bts.Get().(*backtracker)
		defer l.bts.Put(bt)
		var found bool
		if bt.fits(len(line) - pos) {
			found = bt.run(line, pos, -1, true, bt.cap)
		} else {
			found = newPike(l.body, nil).run(line, pos, -1, true, make([]int, max(l.body.NumCap, 2)))
		}
		return found != l.negative
	}
	found := false
	for _, alt := range l.alts {
		if l.seqAt(line, pos, alt) {
			found = true
			break
		}
	}
	return found != l.negative
}

func (l *look) seqAt(line []byte, pos int, seq []*runeSet) bool {
	if l.behind {
		for i := len(seq) - 1; i >= 0; i-- {
			if pos <= 0 {
				return false
			}
			r, w := utf8.DecodeLastRune(line[:pos])
			if !seq[i].has(r) {
				return false
			}
			pos -= w
		}
		return true
	}
	for _, s := range seq {
		if pos >= len(line) {
			return false
		}
		r, w := utf8.DecodeRune(line[pos:])
		if !s.has(r) {
			return false
		}
		pos += w
	}
	return true
}
