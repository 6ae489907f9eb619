package match

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Pattern is a compiled grok expression. It is immutable and safe for
// concurrent use; the mutable matching state lives in a Matcher.
type Pattern struct {
	expr   string
	fields []Field

	fieldSlot []int            // capture slot (2*group) of each field
	looks     map[uint32]*look // by the InstCapture Arg opening a placeholder
	full      *syntax.Prog     // the whole expression, for the Pike fallback
	segs      []*segment
	anchored  bool   // starts with \A: only position 0 can match
	required  []byte // the longest literal every match contains
	firstByte [256]bool
	prefixes  *prefixes
}

// segKind says how the end of a segment is found in a line.
type segKind int

const (
	// segUnique: the segment cannot contain the first byte of the literal
	// that follows, so it ends at the next occurrence of that byte.
	segUnique segKind = iota
	// segLazy, segGreedy: the segment is a repetition of one rune set (like
	// %{DATA} or %{GREEDYDATA}); candidate ends are tried in the order a
	// backtracking engine would try them.
	segLazy
	segGreedy
	// segAmbiguous: the segment may contain the literal (IPORHOST can end
	// in an IPv6 zone like %.+); one DFA pass lists the positions where it
	// could end, and a single candidate settles it.
	segAmbiguous
	// segLast: nothing follows; the end is the leftmost-first match end.
	segLast
)

// A segment is the part of the expression between two literal separators.
// Splitting at literals is what makes matching fast: each piece is matched on
// its own short span by a DFA, and captures that cover a whole piece need no
// capture machinery at all.
type segment struct {
	nodes []*syntax.Regexp
	lit   []byte // the literal that follows; nil for the last segment
	kind  segKind

	prog   *syntax.Prog // nil for an empty segment
	field  int          // the one field spanning the whole segment, or -1
	fields []int        // fields inside a segment that needs the Pike VM for captures
	dfaOK  bool

	star *runeSet // segLazy/segGreedy: the repeated set
	plus bool     // at least one repetition
}

func (s *segment) empty() bool { return len(s.nodes) == 0 }

// Fields returns the named captures of the pattern, in order. Match fills
// two offsets per field.
func (p *Pattern) Fields() []Field { return p.fields }

// Expr returns the grok expression the pattern was compiled from.
func (p *Pattern) Expr() string { return p.expr }

// FieldIndex returns the index of the first field with the given name.
func (p *Pattern) FieldIndex(name string) (int, bool) {
	for i, f := range p.fields {
		if f.Name == name {
			return i, true
		}
	}
	return -1, false
}

// Compile expands a grok expression with the library and compiles it.
func (l *Library) Compile(expr string) (*Pattern, error) {
	exp, err := l.Expand(expr)
	if err != nil {
		return nil, err
	}
	p, err := compileExpanded(expr, exp)
	if err != nil {
		return nil, l.blame(exp, err)
	}
	return p, nil
}

// blame turns an error of the whole expanded expression, which has no
// position, into one at the definition it comes from: the first of the
// definitions expr uses that fails to compile on its own, those it refers
// to tried before it. err stays as it is when none fails alone: the
// problem is in the expression, or only arises where the pieces meet.
func (l *Library) blame(exp *Expanded, err error) error {
	ce, ok := err.(*CompileError)
	if !ok || ce.Pattern != "" || ce.File != "" {
		return err
	}
	tried := make(map[*entry]bool, len(exp.defs))
	for _, e := range exp.defs {
		if tried[e] {
			continue
		}
		tried[e] = true
		name := "%{" + e.def.Name + "}"
		alone, xerr := l.Expand(name)
		if xerr != nil {
			continue // cannot happen: it expanded as part of exp
		}
		_, aerr := compileExpanded(name, alone)
		var own *CompileError
		if aerr == nil || !errors.As(aerr, &own) || own.Pattern != "" || own.File != "" {
			continue
		}
		// The start of the definition: for one from YAML, its node.
		return &CompileError{Pattern: e.def.Name, File: e.def.File, Line: e.def.Line, Col: e.def.Col, Msg: own.Msg}
	}
	return err
}

// CompileError reports a problem found while compiling the expanded regular
// expression; Pattern names the definition it comes from when known.
type CompileError struct {
	Pattern, File string
	Line, Col     int
	Msg           string
}

func (e *CompileError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Message())
	}
	return e.Message()
}

// Message is the error without its position.
func (e *CompileError) Message() string { return patternMessage(e.Pattern, e.Msg) }

func compileExpanded(expr string, exp *Expanded) (*Pattern, error) {
	re, err := syntax.Parse(exp.Regexp, syntax.Perl)
	if err != nil {
		return nil, &CompileError{Msg: "invalid regular expression: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")}
	}
	re = re.Simplify()
	p := &Pattern{expr: expr, fields: exp.Fields, looks: map[uint32]*look{}}
	p.fieldSlot = make([]int, len(exp.Fields))
	for i := range p.fieldSlot {
		p.fieldSlot[i] = -1
	}
	var walkErr error
	walk(re, func(n *syntax.Regexp) {
		if n.Op != syntax.OpCapture || walkErr != nil {
			return
		}
		kind, idx := placeholder(n.Name)
		switch kind {
		case 'f':
			if idx < len(p.fieldSlot) && p.fieldSlot[idx] < 0 {
				p.fieldSlot[idx] = 2 * n.Cap
			}
		case 'l':
			if idx >= len(exp.Lookarounds) {
				walkErr = &CompileError{Msg: fmt.Sprintf("internal: lookaround %d out of range", idx)}
				return
			}
			la := exp.Lookarounds[idx]
			lk, err := compileLook(la)
			if err != nil {
				walkErr = &CompileError{Pattern: la.Pattern, File: la.File, Line: la.Line, Col: la.Col, Msg: err.Error()}
				return
			}
			p.looks[uint32(2*n.Cap)] = lk
		}
	})
	if walkErr != nil {
		return nil, walkErr
	}
	p.full, err = syntax.Compile(re)
	if err != nil {
		return nil, &CompileError{Msg: "invalid regular expression: " + err.Error()}
	}
	p.segs = segmentize(re)
	p.prefixes = &prefixes{top: topLevel(re)}
	for _, s := range p.segs {
		if len(s.lit) > len(p.required) {
			p.required = s.lit
		}
	}
	if len(p.segs[0].nodes) > 0 && p.segs[0].nodes[0].Op == syntax.OpBeginText {
		p.anchored = true
	}
	for i := 0; i < len(p.segs); {
		err := p.prepare(p.segs[i])
		if err == errMerge {
			// The end of this segment is ambiguous: join it, its literal and
			// the next segment into one and look again.
			s, next := p.segs[i], p.segs[i+1]
			lit := &syntax.Regexp{Op: syntax.OpLiteral, Rune: []rune(string(s.lit))}
			s.nodes = append(append(s.nodes, lit), next.nodes...)
			s.lit = next.lit
			p.segs = append(p.segs[:i+1], p.segs[i+2:]...)
			continue
		}
		if err != nil {
			return nil, err
		}
		i++
	}
	if s := p.segs[0]; s.prog != nil {
		p.firstByte = firstBytes(s.prog)
	} else {
		for i := range p.firstByte {
			p.firstByte[i] = true
		}
	}
	return p, nil
}

// placeholder decodes the group names that expansion gives to fields (fN)
// and lookaround placeholders (lN).
func placeholder(name string) (byte, int) {
	if len(name) < 2 || (name[0] != 'f' && name[0] != 'l') {
		return 0, 0
	}
	n, err := strconv.Atoi(name[1:])
	if err != nil {
		return 0, 0
	}
	return name[0], n
}

func walk(re *syntax.Regexp, f func(*syntax.Regexp)) {
	f(re)
	for _, s := range re.Sub {
		walk(s, f)
	}
}

func topLevel(re *syntax.Regexp) []*syntax.Regexp {
	if re.Op == syntax.OpConcat {
		return re.Sub
	}
	return []*syntax.Regexp{re}
}

// segmentize cuts the top-level concatenation at case-sensitive literals.
func segmentize(re *syntax.Regexp) []*segment {
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var segs []*segment
	cur := &segment{}
	for _, n := range subs {
		// A literal U+FFFD also matches any invalid UTF-8 byte, so it cannot
		// be searched for as bytes: it stays inside a segment.
		if n.Op == syntax.OpLiteral && n.Flags&syntax.FoldCase == 0 && !slices.Contains(n.Rune, utf8.RuneError) {
			cur.lit = []byte(string(n.Rune))
			segs = append(segs, cur)
			cur = &segment{}
			continue
		}
		cur.nodes = append(cur.nodes, n)
	}
	return append(segs, cur)
}

// prepare compiles a segment and works out how its end and captures are found.
func (p *Pattern) prepare(s *segment) error {
	s.field = -1
	s.fields = s.fields[:0]
	s.prog = nil
	if s.empty() {
		s.kind = segUnique
		if s.lit == nil {
			s.kind = segLast
		}
		return nil
	}
	prog, err := syntax.Compile(concat(s.nodes))
	if err != nil {
		return &CompileError{Msg: "invalid regular expression: " + err.Error()}
	}
	s.prog = prog
	s.dfaOK = true
	walk(concat(s.nodes), func(n *syntax.Regexp) {
		if n.Op != syntax.OpCapture {
			return
		}
		if kind, idx := placeholder(n.Name); kind == 'f' {
			s.fields = append(s.fields, idx)
		} else if kind == 'l' {
			if p.looks[uint32(2*n.Cap)].single == nil {
				s.dfaOK = false
			}
		}
	})
	if f, ok := spanField(s.nodes); ok {
		s.field = f
		s.fields = s.fields[:0]
	}
	switch {
	case s.lit == nil:
		s.kind = segLast
	case s.lit[0] < utf8.RuneSelf && !canContain(prog, rune(s.lit[0])):
		s.kind = segUnique
	default:
		set, plus, lazy, ok := repetition(s.nodes)
		if s.lit[0] >= utf8.RuneSelf {
			return errMerge
		}
		if !ok {
			if !s.dfaOK {
				return errMerge
			}
			s.kind = segAmbiguous
			return nil
		}
		s.star, s.plus = set, plus
		s.kind = segGreedy
		if lazy {
			s.kind = segLazy
		}
	}
	return nil
}

// errMerge asks merge to join a segment with its neighbour: its end cannot
// be found from the following literal alone.
var errMerge = fmt.Errorf("merge")

func concat(nodes []*syntax.Regexp) *syntax.Regexp {
	if len(nodes) == 1 {
		return nodes[0]
	}
	return &syntax.Regexp{Op: syntax.OpConcat, Sub: nodes}
}

func zeroWidth(n *syntax.Regexp) bool {
	switch n.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpCapture:
		kind, _ := placeholder(n.Name)
		return kind == 'l'
	}
	return false
}

// spanField reports the field whose capture is the whole segment: the only
// consuming node is a field capture with no field inside.
func spanField(nodes []*syntax.Regexp) (int, bool) {
	field := -1
	for _, n := range nodes {
		if zeroWidth(n) {
			continue
		}
		if field >= 0 || n.Op != syntax.OpCapture {
			return -1, false
		}
		kind, idx := placeholder(n.Name)
		if kind != 'f' {
			return -1, false
		}
		inner := false
		walk(n.Sub[0], func(m *syntax.Regexp) {
			if m.Op == syntax.OpCapture {
				if k, _ := placeholder(m.Name); k == 'f' {
					inner = true
				}
			}
		})
		if inner {
			return -1, false
		}
		field = idx
	}
	return field, field >= 0
}

// repetition recognises a segment that is (a capture of) x* or x+ of a
// single rune set, with nothing else in it.
func repetition(nodes []*syntax.Regexp) (set *runeSet, plus, lazy, ok bool) {
	if len(nodes) != 1 {
		return nil, false, false, false
	}
	n := nodes[0]
	if n.Op == syntax.OpCapture {
		if kind, _ := placeholder(n.Name); kind != 'f' {
			return nil, false, false, false
		}
		n = n.Sub[0]
	}
	if n.Op != syntax.OpStar && n.Op != syntax.OpPlus {
		return nil, false, false, false
	}
	// The repeated node must be a bare rune set: a capture or a lookaround
	// inside the repetition needs a real engine.
	switch n.Sub[0].Op {
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL, syntax.OpLiteral:
	default:
		return nil, false, false, false
	}
	alts, fixed := fixedAlternatives(n.Sub[0], 1)
	if !fixed || len(alts) != 1 || len(alts[0]) != 1 {
		return nil, false, false, false
	}
	return alts[0][0], n.Op == syntax.OpPlus, n.Flags&syntax.NonGreedy != 0, true
}

// canContain reports whether any rune instruction of prog accepts r.
func canContain(prog *syntax.Prog, r rune) bool {
	for i := range prog.Inst {
		inst := &prog.Inst[i]
		switch inst.Op {
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			if instMatches(inst, r) {
				return true
			}
		}
	}
	return false
}

// firstBytes is the set of bytes a match can start with (all of them when
// the program can match the empty string or starts with a non-ASCII rune).
func firstBytes(prog *syntax.Prog) [256]bool {
	var set [256]bool
	seen := make([]bool, len(prog.Inst))
	stack := []uint32{uint32(prog.Start)}
	all := false
	for len(stack) > 0 && !all {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] {
			continue
		}
		seen[pc] = true
		inst := &prog.Inst[pc]
		switch inst.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, inst.Out, inst.Arg)
		case syntax.InstNop, syntax.InstCapture, syntax.InstEmptyWidth:
			stack = append(stack, inst.Out)
		case syntax.InstMatch:
			all = true
		case syntax.InstFail:
		default:
			for b := 0; b < utf8.RuneSelf; b++ {
				if instMatches(inst, rune(b)) {
					set[b] = true
				}
			}
			for b := utf8.RuneSelf; b < 256; b++ {
				set[b] = true // any lead byte: checked by the engine itself
			}
		}
	}
	if all {
		for i := range set {
			set[i] = true
		}
	}
	return set
}
