package match

import (
	"fmt"
	"strconv"
	"strings"
)

// Expanded is a grok expression turned into Go regexp/syntax text.
type Expanded struct {
	// Regexp is in Go (Perl-flavoured) syntax. Field i is the group
	// (?P<fI>...); lookaround j is the empty group (?P<lJ>) at the place of
	// the assertion. Every other group is non-capturing.
	Regexp      string
	Fields      []Field      // in order of appearance
	Lookarounds []Lookaround // in order of appearance

	// defs are the definitions expanded, each after those it refers to.
	defs []*entry
}

// Field is a named capture: %{NUMBER:bytes:int} gives {"bytes", "int"}. Type
// is "", "int", "float" or "string". A name may occur more than once, as in
// alternatives that capture the same field.
type Field struct {
	Name, Type string
}

// Lookaround is an assertion Go's syntax lacks; the matching engine decides
// which it can evaluate. Captures inside it are not fields.
type Lookaround struct {
	Behind, Negative bool
	// Body is in Go syntax, with non-capturing groups only.
	Body string
	// Pattern names the definition it was written in, "" for the expression
	// itself. File, Line and Col locate its '(' in that definition; in the
	// expression Line is 0 and Col is the byte offset plus one.
	Pattern   string
	File      string
	Line, Col int
}

// ExpandError is a problem found while expanding an expression.
type ExpandError struct {
	// Pattern is the definition the problem is in, "" for the expression.
	// File, Line and Col locate the problem in that definition's source.
	Pattern   string
	File      string
	Line, Col int
	// Offset is the byte offset in the expression of the problem, or of the
	// top-level %{...} that led to it.
	Offset int
	Msg    string
}

func (e *ExpandError) Error() string {
	switch {
	case e.Pattern == "":
		return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg)
	case e.File == "":
		return fmt.Sprintf("offset %d: %s", e.Offset, e.Message())
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Message())
}

// Message is the error without its position.
func (e *ExpandError) Message() string { return patternMessage(e.Pattern, e.Msg) }

// patternMessage names the definition a problem is in. A message that is a
// predicate ("uses lookahead, which is not supported") reads as a sentence
// after the name; anything else follows a colon.
func patternMessage(pattern, msg string) string {
	switch {
	case pattern == "":
		return msg
	case strings.HasPrefix(msg, "uses "):
		return "pattern " + pattern + " " + msg
	}
	return "pattern " + pattern + ": " + msg
}

// Bounds that turn a runaway expansion into an error instead of a hang or an
// exhausted memory.
const (
	maxExpandDepth  = 64      // nested %{...} references
	maxExpandedSize = 4 << 20 // bytes of Regexp or of one lookaround body
)

// Expand resolves the %{...} references of expr and translates it into Go
// syntax. Each definition is translated once per Library and reused.
func (l *Library) Expand(expr string) (*Expanded, error) {
	nodes, serr := translate(expr)
	if serr != nil {
		return nil, &ExpandError{Offset: serr.pos, Msg: serr.msg}
	}
	x := &expander{lib: l}
	var b strings.Builder
	if err := x.emit(&b, nodes, nil, false); err != nil {
		return nil, err
	}
	return &Expanded{Regexp: relaxRepeats(b.String()), Fields: x.fields, Lookarounds: x.looks, defs: x.defs}, nil
}

type expander struct {
	lib    *Library
	fields []Field
	looks  []Lookaround
	// stack holds the definitions being expanded, outermost first.
	stack []*entry
	// top is the offset in the expression of the reference being expanded.
	top int
	// defs are the definitions expanded so far, see Expanded.defs.
	defs []*entry
}

// errAt builds the error for a problem at pos in def (nil: the expression).
func (x *expander) errAt(def *entry, pos int, msg string) *ExpandError {
	if def == nil {
		return &ExpandError{Offset: pos, Msg: msg}
	}
	line, col := position(def.def, pos)
	return &ExpandError{Pattern: def.def.Name, File: def.def.File, Line: line, Col: col, Offset: x.top, Msg: msg}
}

// position maps a byte offset of a definition's Expr to its source.
func position(d Definition, pos int) (int, int) {
	if d.Locate != nil {
		if line, col, ok := d.Locate(pos); ok {
			return line, col
		}
	}
	if d.Line == 0 {
		return 0, pos + 1
	}
	return d.Line, d.Col + pos
}

// emit writes nodes of def (nil: the expression) to b. Inside a lookaround
// body groups do not capture and lookarounds cannot nest.
func (x *expander) emit(b *strings.Builder, nodes []node, def *entry, inLook bool) error {
	for i := range nodes {
		n := &nodes[i]
		if def == nil {
			x.top = n.pos
		}
		switch n.kind {
		case nodeText:
			b.WriteString(n.text)
		case nodeCapture:
			x.open(b, n.name, "", inLook)
			if err := x.emit(b, n.body, def, inLook); err != nil {
				return err
			}
			b.WriteByte(')')
		case nodeRef:
			if err := x.reference(b, n, def, inLook); err != nil {
				return err
			}
		case nodeLook:
			if inLook {
				return x.errAt(def, n.pos, "uses a lookaround inside a lookaround, which is not supported")
			}
			var body strings.Builder
			if err := x.emit(&body, n.body, def, true); err != nil {
				return err
			}
			la := Lookaround{Behind: n.behind, Negative: n.negative, Body: relaxRepeats(body.String())}
			if def != nil {
				la.Pattern, la.File = def.def.Name, def.def.File
			}
			if def == nil {
				la.Col = n.pos + 1
			} else {
				la.Line, la.Col = position(def.def, n.pos)
			}
			b.WriteString("(?P<l" + strconv.Itoa(len(x.looks)) + ">)")
			x.looks = append(x.looks, la)
		}
		if b.Len() > maxExpandedSize {
			return x.errAt(def, n.pos, fmt.Sprintf("expands to more than %d bytes", maxExpandedSize))
		}
	}
	return nil
}

// open starts a group for a field; empty names and lookaround bodies get a
// non-capturing group.
func (x *expander) open(b *strings.Builder, name, typ string, inLook bool) {
	if name == "" || inLook {
		b.WriteString("(?:")
		return
	}
	b.WriteString("(?P<f" + strconv.Itoa(len(x.fields)) + ">")
	x.fields = append(x.fields, Field{Name: name, Type: typ})
}

func (x *expander) reference(b *strings.Builder, n *node, def *entry, inLook bool) error {
	e, ok := x.lib.defs[n.name]
	if !ok {
		return x.errAt(def, n.pos, fmt.Sprintf("unknown pattern %%{%s}", n.name))
	}
	for i, s := range x.stack {
		if s == e {
			names := make([]string, 0, len(x.stack)-i+1)
			for _, c := range x.stack[i:] {
				names = append(names, c.def.Name)
			}
			names = append(names, e.def.Name)
			return x.errAt(def, n.pos, "recursive pattern: "+strings.Join(names, " -> "))
		}
	}
	if len(x.stack) >= maxExpandDepth {
		return x.errAt(def, n.pos, fmt.Sprintf("references nest deeper than %d", maxExpandDepth))
	}
	nodes, serr := e.translated()
	if serr != nil {
		return x.errAt(e, serr.pos, serr.msg)
	}
	x.open(b, n.field, n.typ, inLook)
	x.stack = append(x.stack, e)
	err := x.emit(b, nodes, e, inLook)
	x.stack = x.stack[:len(x.stack)-1]
	if err != nil {
		return err
	}
	x.defs = append(x.defs, e)
	b.WriteByte(')')
	return nil
}
