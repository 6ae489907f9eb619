package config

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// decoder walks yaml.Node trees of one file and collects problems. Walking
// nodes by hand, rather than decoding into tagged structs, keeps the line
// and column of every key and value for error messages.
type decoder struct {
	file  string
	lines []string // source lines, split the way the YAML scanner counts them
	probs Problems

	// env maps scalars whose text came, at least in part, from environment
	// variables to those variables ("${A}, ${B}"). Messages about them
	// name the variables instead of showing the value, which may be secret.
	env map[*yaml.Node]string
}

func newDecoder(file string, data []byte) *decoder {
	return &decoder{file: file, lines: splitLines(string(data))}
}

// splitLines splits s at every line break the YAML scanner counts: CRLF,
// CR, LF, NEL, LS and PS. A leading byte order mark is dropped because the
// scanner does not count it as a column.
func splitLines(s string) []string {
	s = strings.TrimPrefix(s, "\uFEFF")
	var lines []string
	start := 0
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\r', '\n', 0x85, 0x2028, 0x2029:
			lines = append(lines, s[start:i])
			if r == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				w = 2
			}
			start = i + w
		}
		i += w
	}
	return append(lines, s[start:])
}

func (d *decoder) pos(n *yaml.Node) Pos {
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) addf(n *yaml.Node, format string, args ...any) {
	d.probs.add(d.pos(n), format, args...)
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit null ("key:" with
// nothing after it, "~" or "null").
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe is the package function describe, except that a scalar from the
// environment is described by its variables, never by its value.
func (d *decoder) describe(n *yaml.Node) string {
	if vars, ok := d.env[n]; ok {
		return "a value from " + vars
	}
	return describe(n)
}

// quote returns v, the (decoded) value of scalar n, quoted for a message,
// or, when n came from the environment, "(value from ${VAR})".
func (d *decoder) quote(n *yaml.Node, v string) string {
	if vars, ok := d.env[n]; ok {
		return "(value from " + vars + ")"
	}
	return strconv.Quote(v)
}

// describe names what a node is, for "must be X, got Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "null"
	case n.ShortTag() == "!!str":
		v := n.Value
		if utf8.RuneCountInString(v) > 40 {
			v = string([]rune(v)[:40]) + "..."
		}
		return strconv.Quote(v)
	default:
		return n.Value
	}
}

// field is one key/value pair of a mapping, aliases resolved.
type field struct {
	name     string
	key, val *yaml.Node
}

// mapping returns the pairs of mapping n in file order. It reports (and
// drops) non-scalar keys, merge keys, duplicate keys and, when valid is not
// nil, keys not in valid. what names n in "must be a mapping" messages; ctx
// says where the keys are ("in rule") in key messages.
func (d *decoder) mapping(n *yaml.Node, what, ctx string, valid []string) ([]field, bool) {
	if n.Kind != yaml.MappingNode {
		d.addf(n, "%s must be a mapping, got %s", what, d.describe(n))
		return nil, false
	}
	first := make(map[string]*yaml.Node, len(n.Content)/2)
	fields := make([]field, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		switch {
		case k.Kind != yaml.ScalarNode:
			d.addf(k, "keys %s must be scalars, got %s", ctx, d.describe(k))
			continue
		case k.ShortTag() == "!!merge":
			d.addf(k, "merge keys (<<) are not supported %s", ctx)
			continue
		}
		if f, dup := first[k.Value]; dup {
			d.addf(k, "duplicate key %q %s (first defined at %s)", k.Value, ctx, d.pos(f))
			continue
		}
		first[k.Value] = k
		if valid != nil && !slices.Contains(valid, k.Value) {
			d.addf(k, "unknown key %q %s (valid: %s)", k.Value, ctx, strings.Join(valid, ", "))
			continue
		}
		fields = append(fields, field{name: k.Value, key: k, val: v})
	}
	return fields, true
}

// sequence returns the items of list n, aliases resolved.
func (d *decoder) sequence(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	if n.Kind != yaml.SequenceNode {
		d.addf(n, "%s must be a list, got %s", what, d.describe(n))
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = resolve(c)
	}
	return items, true
}

// str returns scalar n as a String. Numbers and booleans are taken as
// written; null is refused, as are lists and mappings.
func (d *decoder) str(n *yaml.Node, what string) (String, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.addf(n, "%s must be a string, got %s", what, d.describe(n))
		return String{}, false
	}
	return d.stringOf(n), true
}

// stringOf makes a String of scalar n, keeping the source text of one-line
// scalars for String.ColumnOf.
func (d *decoder) stringOf(n *yaml.Node) String {
	s := String{Value: n.Value, Pos: d.pos(n)}
	s.src, s.srcCol = d.scalarSource(n)
	return s
}

// scalarSource finds the source text of scalar n when it is plain or
// quoted and fits on its line, and the column where that text starts (after
// any tag or anchor). It returns "" when the text cannot be found or does
// not decode to n.Value.
func (d *decoder) scalarSource(n *yaml.Node) (string, int) {
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || n.Line < 1 || n.Line > len(d.lines) {
		return "", 0
	}
	line := d.lines[n.Line-1]
	i, col := 0, 1
	for col < n.Column && i < len(line) {
		_, w := utf8.DecodeRuneInString(line[i:])
		i += w
		col++
	}
	if col != n.Column {
		return "", 0
	}
	rest := line[i:]
	for len(rest) > 0 && (rest[0] == '!' || rest[0] == '&') { // tag or anchor
		j := strings.IndexAny(rest, " \t")
		if j < 0 {
			return "", 0
		}
		col += utf8.RuneCountInString(rest[:j])
		rest = rest[j:]
		trimmed := strings.TrimLeft(rest, " \t")
		col += len(rest) - len(trimmed)
		rest = trimmed
	}
	var src string
	switch {
	case n.Style&yaml.SingleQuotedStyle != 0:
		src = quotedExtent(rest, '\'')
	case n.Style&yaml.DoubleQuotedStyle != 0:
		src = quotedExtent(rest, '"')
	case strings.HasPrefix(rest, n.Value):
		src = n.Value
	}
	if src == "" {
		return "", 0
	}
	if v, ok := decodeScalar(src); !ok || v != n.Value {
		return "", 0
	}
	return src, col
}

// quotedExtent returns the quoted scalar at the start of s, quotes
// included, or "" when it does not end on this line.
func quotedExtent(s string, quote byte) string {
	if s == "" || s[0] != quote {
		return ""
	}
	for i := 1; i < len(s); i++ {
		switch {
		case quote == '"' && s[i] == '\\':
			i++
		case s[i] == quote && quote == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case s[i] == quote:
			return s[:i+1]
		}
	}
	return ""
}

// number returns n as a float64; it must be a YAML int or float (".inf"
// and ".nan" included), not a quoted string.
func (d *decoder) number(n *yaml.Node, what string) (float64, bool) {
	var f float64
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil {
		d.addf(n, "%s must be a number, got %s", what, d.describe(n))
		return 0, false
	}
	return f, true
}

// integer returns n as an int64; it must be a YAML int.
func (d *decoder) integer(n *yaml.Node, what string) (int64, bool) {
	var i int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		d.addf(n, "%s must be a whole number, got %s", what, d.describe(n))
		return 0, false
	}
	return i, true
}

// boolean returns n as a bool; it must be a YAML bool (true or false).
func (d *decoder) boolean(n *yaml.Node, what string) (bool, bool) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.addf(n, "%s must be true or false, got %s", what, d.describe(n))
		return false, false
	}
	return b, true
}
