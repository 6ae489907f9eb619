package match

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// translate turns one grok expression, written in the Oniguruma dialect
// Logstash uses, into a tree of Go regexp/syntax fragments, grok references,
// named groups and lookarounds. Expand numbers and joins the tree.
//
// Semantics follow Oniguruma's Ruby syntax: (?m) lets '.' match a newline,
// as Go's (?s) does. '^' and '$' keep Go's meaning (start and end of the
// text); lines are matched one at a time, so they differ only inside
// multi-line events.

type nodeKind uint8

const (
	nodeText    nodeKind = iota // Go syntax, copied as is
	nodeRef                     // %{name[:field[:type]]}
	nodeCapture                 // named group: name, body
	nodeLook                    // lookaround: body
)

type node struct {
	kind             nodeKind
	text             string // nodeText
	name             string // nodeRef: pattern; nodeCapture: field
	field, typ       string // nodeRef
	behind, negative bool   // nodeLook
	body             []node // nodeCapture, nodeLook
	pos              int    // byte offset of the construct in the expression
}

// syntaxError is a problem at a byte offset of one expression.
type syntaxError struct {
	pos int
	msg string
}

func unsupported(pos int, feature string) *syntaxError {
	return &syntaxError{pos, "uses " + feature + ", which is not supported"}
}

type translator struct {
	src string
	i   int
	// depth bounds the nesting of groups so that a hostile expression
	// cannot exhaust the stack.
	depth int
}

const maxGroupDepth = 500

func translate(src string) ([]node, *syntaxError) {
	t := &translator{src: src}
	nodes, err := t.sequence(false)
	if err != nil {
		return nil, err
	}
	if t.i < len(src) { // only a ')' stops the top-level sequence
		return nil, &syntaxError{t.i, "unmatched )"}
	}
	return nodes, nil
}

// seqBuilder collects nodes, merging adjacent text.
type seqBuilder struct {
	nodes []node
	text  strings.Builder
}

func (b *seqBuilder) flush() {
	if b.text.Len() > 0 {
		b.nodes = append(b.nodes, node{kind: nodeText, text: b.text.String()})
		b.text.Reset()
	}
}

func (b *seqBuilder) add(n node) {
	b.flush()
	b.nodes = append(b.nodes, n)
}

// mark is a position in a seqBuilder: nodes so far and unflushed text.
type mark struct{ nodes, text int }

func (b *seqBuilder) mark() mark { return mark{len(b.nodes), b.text.Len()} }

// wrap puts everything written since m into a non-capturing group.
func (b *seqBuilder) wrap(m mark) {
	b.flush()
	at := m.nodes
	if m.text > 0 {
		head := b.nodes[at]
		tail := node{kind: nodeText, text: head.text[m.text:]}
		b.nodes[at].text = head.text[:m.text]
		at++
		b.nodes = append(b.nodes[:at], append([]node{tail}, b.nodes[at:]...)...)
	}
	b.nodes = append(b.nodes[:at], append([]node{{kind: nodeText, text: "(?:"}}, b.nodes[at:]...)...)
	b.text.WriteByte(')')
}

// sequence translates up to an unmatched ')' (left unconsumed) or the end.
// extended is the state of the x option on entry.
func (t *translator) sequence(extended bool) ([]node, *syntaxError) {
	var b seqBuilder
	// atom marks the start of the last atom; quantified says a quantifier
	// followed it. Oniguruma accepts a quantifier on a quantifier (.?*) and
	// means the inner repetition grouped, which Go needs spelled out.
	var atom mark
	quantified := false
	for t.i < len(t.src) {
		c := t.src[t.i]
		if extended {
			if strings.IndexByte(" \t\n\r\f\v", c) >= 0 {
				t.i++
				continue
			}
			if c == '#' {
				for t.i < len(t.src) && t.src[t.i] != '\n' {
					t.i++
				}
				continue
			}
		}
		isQuant := c == '*' || c == '+' || c == '?'
		if c == '{' {
			_, n := interval(t.src[t.i:])
			isQuant = n > 0
		}
		if isQuant {
			if quantified {
				b.wrap(atom)
			}
			quantified = true
		} else {
			atom, quantified = b.mark(), false
		}
		switch c {
		case ')':
			b.flush()
			return b.nodes, nil
		case '(':
			on, err := t.group(&b, extended)
			if err != nil {
				return nil, err
			}
			extended = on
		case '[':
			s, err := t.class()
			if err != nil {
				return nil, err
			}
			b.text.WriteString(s)
		case '\\':
			s, err := t.escape()
			if err != nil {
				return nil, err
			}
			b.text.WriteString(s)
		case '%':
			if strings.HasPrefix(t.src[t.i:], "%{") {
				n, err := t.reference()
				if err != nil {
					return nil, err
				}
				b.add(n)
				continue
			}
			b.text.WriteByte(c)
			t.i++
		case '*', '+', '?':
			t.i++
			b.text.WriteByte(c)
			t.quantifierSuffix(&b.text)
		case '{':
			if s, n := interval(t.src[t.i:]); n > 0 {
				t.i += n
				b.text.WriteString(s)
				t.quantifierSuffix(&b.text)
				continue
			}
			b.text.WriteString(`\{`)
			t.i++
		case '}', ']':
			b.text.WriteByte('\\')
			b.text.WriteByte(c)
			t.i++
		default:
			_, size := utf8.DecodeRuneInString(t.src[t.i:])
			b.text.WriteString(t.src[t.i : t.i+size])
			t.i += size
		}
	}
	b.flush()
	return b.nodes, nil
}

// quantifierSuffix keeps a lazy '?' and drops a possessive '+': without
// backtracking control the greedy form matches the same texts in RE2.
func (t *translator) quantifierSuffix(w *strings.Builder) {
	if t.i < len(t.src) {
		switch t.src[t.i] {
		case '?':
			w.WriteByte('?')
			t.i++
		case '+':
			t.i++
		}
	}
}

// interval recognises {n}, {n,}, {n,m} and Oniguruma's {,m} at the start of
// s and returns its Go form and length, or 0 when s is a literal brace.
func interval(s string) (string, int) {
	j := 1
	digits := func() string {
		k := j
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		return s[k:j]
	}
	lo := digits()
	hi, comma := lo, false
	if j < len(s) && s[j] == ',' {
		j++
		comma = true
		hi = digits()
	}
	if j >= len(s) || s[j] != '}' || (lo == "" && hi == "") {
		return "", 0
	}
	// Go reads a count with a leading zero as literal text.
	lo = trimZeros(lo)
	if hi != "" {
		hi = trimZeros(hi)
	}
	if comma {
		return "{" + lo + "," + hi + "}", j + 1
	}
	return "{" + lo + "}", j + 1
}

// trimZeros drops the leading zeros of a count; "" (the missing lower
// bound of Oniguruma's {,m}) becomes "0".
func trimZeros(digits string) string {
	if digits = strings.TrimLeft(digits, "0"); digits == "" {
		return "0"
	}
	return digits
}

// reference reads %{NAME}, %{NAME:field} or %{NAME:field:type}. An empty
// field, as in %{DATA:}, captures nothing.
func (t *translator) reference() (node, *syntaxError) {
	start := t.i
	end := strings.IndexByte(t.src[start:], '}')
	if end < 0 {
		return node{}, &syntaxError{start, "malformed pattern reference: missing }"}
	}
	body := t.src[start+2 : start+end]
	parts := strings.Split(body, ":")
	n := node{kind: nodeRef, name: parts[0], pos: start}
	switch {
	case len(parts) > 3:
		return node{}, &syntaxError{start, fmt.Sprintf("malformed pattern reference %%{%s}", body)}
	case n.name == "" || invalidNameChar(n.name) >= 0:
		return node{}, &syntaxError{start, fmt.Sprintf("malformed pattern reference %%{%s}: invalid pattern name", body)}
	}
	if len(parts) > 1 {
		n.field = parts[1]
		if !validField(n.field) {
			return node{}, &syntaxError{start, fmt.Sprintf("malformed pattern reference %%{%s}: invalid field name %q", body, n.field)}
		}
	}
	if len(parts) > 2 {
		n.typ = parts[2]
		switch n.typ {
		case "int", "float", "string":
		default:
			return node{}, &syntaxError{start, fmt.Sprintf("invalid type %q in %%{%s} (want int, float or string)", n.typ, body)}
		}
		if n.field == "" {
			return node{}, &syntaxError{start, fmt.Sprintf("type without a field in %%{%s}", body)}
		}
	}
	t.i = start + end + 1
	return n, nil
}

// validField accepts Logstash field names such as client.ip, @timestamp or
// [http][status]; the empty name means no capture.
// validField accepts the field names people write in Logstash patterns,
// nested ones like [http][response][status_code] included, and is lenient
// with stray punctuation (logstash-patterns-core's ECS httpd file has a
// field ending in '?'): only blanks and braces are refused.
func validField(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ', c == '{', c == '}', c == 0x7f:
			return false
		}
	}
	return true
}

// group translates a parenthesised construct starting at t.i. It returns the
// x option in effect after it: a bare option setting such as (?x) changes it
// for the rest of the enclosing group.
func (t *translator) group(b *seqBuilder, extended bool) (bool, *syntaxError) {
	start := t.i
	rest := t.src[start:]
	t.depth++
	defer func() { t.depth-- }()
	if t.depth > maxGroupDepth {
		return extended, &syntaxError{start, "groups nested too deeply"}
	}
	body := func(open int, ext bool) ([]node, *syntaxError) {
		t.i = start + open
		nodes, err := t.sequence(ext)
		if err != nil {
			return nil, err
		}
		if t.i >= len(t.src) {
			return nil, &syntaxError{start, "missing )"}
		}
		t.i++ // ')'
		return nodes, nil
	}
	wrap := func(open int, prefix string, ext bool) *syntaxError {
		nodes, err := body(open, ext)
		if err != nil {
			return err
		}
		b.text.WriteString(prefix)
		b.flush()
		b.nodes = append(b.nodes, nodes...)
		b.text.WriteByte(')')
		return nil
	}
	look := func(open int, behind, negative bool) *syntaxError {
		nodes, err := body(open, extended)
		if err != nil {
			return err
		}
		b.add(node{kind: nodeLook, behind: behind, negative: negative, body: nodes, pos: start})
		return nil
	}
	capture := func(nameAt int, close byte) *syntaxError {
		end := strings.IndexByte(rest[nameAt:], close)
		if end < 0 {
			return &syntaxError{start, "malformed group name"}
		}
		name := rest[nameAt : nameAt+end]
		if name == "" || !validField(name) {
			return &syntaxError{start, fmt.Sprintf("invalid group name %q", name)}
		}
		if name[0] >= '0' && name[0] <= '9' {
			return unsupported(start, "a group name starting with a digit")
		}
		nodes, err := body(nameAt+end+1, extended)
		if err != nil {
			return err
		}
		b.add(node{kind: nodeCapture, name: name, body: nodes, pos: start})
		return nil
	}

	switch {
	case !strings.HasPrefix(rest, "(?"):
		return extended, wrap(1, "(?:", extended)
	case strings.HasPrefix(rest, "(?:"):
		return extended, wrap(3, "(?:", extended)
	case strings.HasPrefix(rest, "(?>"): // atomic: RE2 has no backtracking to forbid
		return extended, wrap(3, "(?:", extended)
	case strings.HasPrefix(rest, "(?="):
		return extended, look(3, false, false)
	case strings.HasPrefix(rest, "(?!"):
		return extended, look(3, false, true)
	case strings.HasPrefix(rest, "(?<="):
		return extended, look(4, true, false)
	case strings.HasPrefix(rest, "(?<!"):
		return extended, look(4, true, true)
	case strings.HasPrefix(rest, "(?P<"):
		return extended, capture(4, '>')
	case strings.HasPrefix(rest, "(?<"):
		return extended, capture(3, '>')
	case strings.HasPrefix(rest, "(?'"):
		return extended, capture(3, '\'')
	case strings.HasPrefix(rest, "(?#"):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return extended, &syntaxError{start, "missing ) after comment"}
		}
		t.i = start + end + 1
		return extended, nil
	case strings.HasPrefix(rest, "(?~"):
		return extended, unsupported(start, "the absent operator (?~...)")
	case strings.HasPrefix(rest, "(?("):
		return extended, unsupported(start, "a conditional (?(cond)...)")
	case strings.HasPrefix(rest, "(?P="), strings.HasPrefix(rest, "(?P>"):
		return extended, unsupported(start, "a backreference or recursion (?P"+rest[3:4]+"name)")
	case strings.HasPrefix(rest, "(?R"), strings.HasPrefix(rest, "(?&"),
		len(rest) > 2 && (rest[2] >= '0' && rest[2] <= '9' || rest[2] == '+' || rest[2] == '-' && len(rest) > 3 && rest[3] >= '0' && rest[3] <= '9'):
		return extended, unsupported(start, "recursion (?R), (?N) or (?&name)")
	}
	return t.options(b, extended)
}

// options translates (?flags) and (?flags:...). Oniguruma's m is Go's s.
func (t *translator) options(b *seqBuilder, extended bool) (bool, *syntaxError) {
	start := t.i
	j := start + 2
	var goFlags strings.Builder
	neg, ext := false, extended
	for ; j < len(t.src) && t.src[j] != ')' && t.src[j] != ':'; j++ {
		switch c := t.src[j]; c {
		case '-':
			if neg {
				return extended, &syntaxError{start, "malformed option group"}
			}
			neg = true
			goFlags.WriteByte('-')
		case 'i', 's':
			goFlags.WriteByte(c)
		case 'm':
			goFlags.WriteByte('s')
		case 'x':
			ext = !neg
		default:
			return extended, unsupported(start, fmt.Sprintf("the inline option %q", c))
		}
	}
	if j >= len(t.src) {
		return extended, &syntaxError{start, "missing )"}
	}
	flags := strings.TrimSuffix(goFlags.String(), "-")
	if t.src[j] == ')' {
		t.i = j + 1
		if flags != "" {
			b.text.WriteString("(?" + flags + ")")
		}
		return ext, nil
	}
	t.i = j + 1
	nodes, err := t.sequence(ext)
	if err != nil {
		return extended, err
	}
	if t.i >= len(t.src) {
		return extended, &syntaxError{start, "missing )"}
	}
	t.i++
	b.text.WriteString("(?" + flags + ":")
	b.flush()
	b.nodes = append(b.nodes, nodes...)
	b.text.WriteByte(')')
	return extended, nil
}

// escape translates the escape sequence at t.i outside a character class.
func (t *translator) escape() (string, *syntaxError) {
	start := t.i
	if start+1 >= len(t.src) {
		return "", &syntaxError{start, "trailing backslash"}
	}
	c := t.src[start+1]
	t.i = start + 2
	switch c {
	case 'Q': // quote up to \E
		end := strings.Index(t.src[t.i:], `\E`)
		lit := t.src[t.i:]
		if end >= 0 {
			lit = lit[:end]
			t.i += end + 2
		} else {
			t.i = len(t.src)
		}
		return quoteLiteral(lit), nil
	case 'E': // stray \E is ignored by Oniguruma
		return "", nil
	case 'A', 'z', 'b', 'B', 'd', 'D', 'w', 'W', 's', 'S':
		return `\` + string(c), nil
	case 'h':
		return `[0-9a-fA-F]`, nil
	case 'H':
		return `[^0-9a-fA-F]`, nil
	case 'Z': // end, or before a final newline; consumes that newline
		return `(?:\n?\z)`, nil
	case 'R':
		return `(?:\r\n|[\n\v\f\r\x{85}\x{2028}\x{2029}])`, nil
	case 'N':
		return `[^\n]`, nil
	case 'O':
		return `(?s:.)`, nil
	case 'k':
		return "", unsupported(start, `a backreference \k<name>`)
	case 'g':
		return "", unsupported(start, `recursion \g<name>`)
	case 'G':
		return "", unsupported(start, `\G`)
	case 'K':
		return "", unsupported(start, `\K`)
	case 'X':
		return "", unsupported(start, `\X`)
	case 'y', 'Y':
		return "", unsupported(start, `\`+string(c))
	case '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "", unsupported(start, `a backreference \`+string(c))
	}
	return t.escapeCommon(start, c, false)
}

// escapeCommon handles the escapes valid both inside and outside classes;
// t.i is past the escaped character.
func (t *translator) escapeCommon(start int, c byte, inClass bool) (string, *syntaxError) {
	switch c {
	case 'a', 'f', 'n', 'r', 't', 'v':
		return `\` + string(c), nil
	case 'e':
		return `\x1B`, nil
	case '0':
		j := t.i
		for j < len(t.src) && j < t.i+2 && t.src[j] >= '0' && t.src[j] <= '7' {
			j++
		}
		v, _ := strconv.ParseUint("0"+t.src[t.i:j], 8, 32)
		t.i = j
		return fmt.Sprintf(`\x{%X}`, v), nil
	case 'c':
		if t.i >= len(t.src) {
			return "", &syntaxError{start, `incomplete \c escape`}
		}
		v := t.src[t.i] & 0x1f
		t.i++
		return fmt.Sprintf(`\x{%X}`, v), nil
	case 'x':
		if t.i < len(t.src) && t.src[t.i] == '{' {
			end := strings.IndexByte(t.src[t.i:], '}')
			if end < 0 || !isHex(t.src[t.i+1:t.i+end]) {
				return "", &syntaxError{start, `malformed \x{...} escape`}
			}
			s := `\x` + t.src[t.i:t.i+end+1]
			t.i += end + 1
			return s, nil
		}
		j := t.i
		for j < len(t.src) && j < t.i+2 && isHex(t.src[j:j+1]) {
			j++
		}
		if j == t.i {
			return "", &syntaxError{start, `malformed \x escape`}
		}
		s := `\x{` + t.src[t.i:j] + `}`
		t.i = j
		return s, nil
	case 'u':
		if t.i+4 > len(t.src) || !isHex(t.src[t.i:t.i+4]) {
			return "", &syntaxError{start, `malformed \u escape (want \uHHHH)`}
		}
		s := `\x{` + t.src[t.i:t.i+4] + `}`
		t.i += 4
		return s, nil
	case 'p', 'P':
		if t.i < len(t.src) && t.src[t.i] == '{' {
			end := strings.IndexByte(t.src[t.i:], '}')
			if end < 0 {
				return "", &syntaxError{start, `malformed \p{...} escape`}
			}
			s := `\` + string(c) + t.src[t.i:t.i+end+1]
			t.i += end + 1
			return s, nil
		}
		if t.i >= len(t.src) {
			return "", &syntaxError{start, `malformed \p escape`}
		}
		s := `\` + string(c) + t.src[t.i:t.i+1]
		t.i++
		return s, nil
	}
	if c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
		return "", &syntaxError{start, fmt.Sprintf(`unknown escape \%c`, c)}
	}
	// An escaped punctuation or other character stands for itself.
	_, size := utf8.DecodeRuneInString(t.src[t.i-1:])
	lit := t.src[t.i-1 : t.i-1+size]
	t.i += size - 1
	if inClass {
		return quoteClassLiteral(lit), nil
	}
	return quoteLiteral(lit), nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// quoteLiteral escapes the Go metacharacters of s, for use outside a class.
func quoteLiteral(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf && strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func quoteClassLiteral(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\[]^-`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// posixClasses are the bracket expressions Oniguruma and Go share.
var posixClasses = map[string]bool{
	"alnum": true, "alpha": true, "ascii": true, "blank": true, "cntrl": true, "digit": true, "graph": true,
	"lower": true, "print": true, "punct": true, "space": true, "upper": true, "word": true, "xdigit": true,
}

// class translates the character class at t.i. Oniguruma nests classes;
// a nested positive class is a union, flattened into the outer one.
func (t *translator) class() (string, *syntaxError) {
	start := t.i
	items, neg, err := t.classItems()
	if err != nil {
		return "", err
	}
	if items == "" {
		return "", &syntaxError{start, "empty character class"}
	}
	if neg {
		return "[^" + items + "]", nil
	}
	return "[" + items + "]", nil
}

func (t *translator) classItems() (string, bool, *syntaxError) {
	start := t.i
	t.i++ // '['
	neg := false
	if t.i < len(t.src) && t.src[t.i] == '^' {
		neg = true
		t.i++
	}
	var b strings.Builder
	first := true
	for {
		if t.i >= len(t.src) {
			return "", false, &syntaxError{start, "missing ] in character class"}
		}
		c := t.src[t.i]
		switch {
		case c == ']' && !first:
			t.i++
			return b.String(), neg, nil
		case c == ']':
			b.WriteString(`\]`)
			t.i++
		case strings.HasPrefix(t.src[t.i:], "[:"):
			end := strings.Index(t.src[t.i:], ":]")
			name := ""
			if end > 2 {
				name = t.src[t.i+2 : t.i+end]
			}
			if !posixClasses[strings.TrimPrefix(name, "^")] {
				return "", false, &syntaxError{t.i, fmt.Sprintf("unknown POSIX class [:%s:]", name)}
			}
			b.WriteString("[:" + name + ":]")
			t.i += end + 2
		case c == '[':
			at := t.i
			inner, innerNeg, err := t.classItems()
			if err != nil {
				return "", false, err
			}
			if innerNeg {
				return "", false, unsupported(at, "a negated class nested in a class")
			}
			b.WriteString(inner)
		case c == '&' && strings.HasPrefix(t.src[t.i:], "&&"):
			return "", false, unsupported(t.i, "class intersection &&")
		case c == '\\':
			s, err := t.classEscape()
			if err != nil {
				return "", false, err
			}
			b.WriteString(s)
		case c == '^':
			b.WriteString(`\^`)
			t.i++
		default:
			_, size := utf8.DecodeRuneInString(t.src[t.i:])
			b.WriteString(t.src[t.i : t.i+size])
			t.i += size
		}
		first = false
	}
}

// classEscape translates an escape inside a class.
func (t *translator) classEscape() (string, *syntaxError) {
	start := t.i
	if start+1 >= len(t.src) {
		return "", &syntaxError{start, "trailing backslash"}
	}
	c := t.src[start+1]
	t.i = start + 2
	switch c {
	case 'd', 'D', 'w', 'W', 's', 'S':
		return `\` + string(c), nil
	case 'h':
		return `0-9a-fA-F`, nil
	case 'H': // the complement of \h, spelled as ranges
		return `\x00-/:-@G-\x60g-\x{10FFFF}`, nil
	case 'b': // backspace inside a class
		return `\x08`, nil
	}
	return t.escapeCommon(start, c, true)
}
