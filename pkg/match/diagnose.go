package match

import (
	"regexp"
	"regexp/syntax"
	"strconv"
	"sync"
)

// Diagnosis tells how far a pattern got on a line it does not match, for
// `logmeter test --explain`.
type Diagnosis struct {
	Consumed int    // bytes of the line covered by the longest matching prefix of the pattern
	Expected string // what the pattern wanted next: a field, a literal or a regexp piece
}

// prefixes are the pattern's leading top-level pieces, compiled lazily: they
// only serve explanations, never the hot path.
type prefixes struct {
	once  sync.Once
	top   []*syntax.Regexp
	res   []*regexp.Regexp // res[k] matches top[:k+1]
	names []Field
}

// Diagnose reports the longest prefix of the pattern (in top-level pieces)
// that matches somewhere in line, and the piece that failed after it.
func (p *Pattern) Diagnose(line []byte) Diagnosis {
	pf := p.prefixes
	pf.once.Do(func() {
		for k := range pf.top {
			re, err := regexp.Compile(concat(pf.top[:k+1]).String())
			if err != nil {
				break
			}
			pf.res = append(pf.res, re)
		}
	})
	for k := len(pf.res) - 1; k >= 0; k-- {
		loc := pf.res[k].FindIndex(line)
		if loc == nil {
			continue
		}
		d := Diagnosis{Consumed: loc[1], Expected: "end of pattern"}
		if k+1 < len(pf.top) {
			d.Expected = p.describe(pf.top[k+1])
		}
		return d
	}
	if len(pf.top) > 0 {
		return Diagnosis{Expected: p.describe(pf.top[0])}
	}
	return Diagnosis{}
}

func (p *Pattern) describe(n *syntax.Regexp) string {
	switch n.Op {
	case syntax.OpCapture:
		if kind, idx := placeholder(n.Name); kind == 'f' && idx < len(p.fields) {
			return "field " + strconv.Quote(p.fields[idx].Name)
		}
	case syntax.OpLiteral:
		return "literal " + strconv.Quote(string(n.Rune))
	}
	s := n.String()
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return "regexp " + s
}
