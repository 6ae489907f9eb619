package metrics

import (
	"fmt"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/logmeter/logmeter/pkg/logline"
)

// Env is what a template sees for one matched line.
type Env struct {
	Text []byte // the line
	// Caps[2*i] and Caps[2*i+1] delimit in Text the capture named fields[i]
	// (the fields given to CompileTemplate); -1 when it did not participate.
	// This is the layout of regexp's FindSubmatchIndex with SubexpNames.
	Caps []int
	Line *logline.Line // may be nil
}

// TemplateError is a template that does not compile. Offset is the byte
// offset in the template text the problem was found at, or -1 when unknown.
type TemplateError struct {
	Offset int
	Msg    string
}

func (e *TemplateError) Error() string {
	if e.Offset < 0 {
		return e.Msg
	}
	return fmt.Sprintf("at offset %d: %s", e.Offset, e.Msg)
}

type pieceKind uint8

const (
	pieceText pieceKind = iota
	pieceCapture
	pieceNamespace
	piecePod
	piecePodUID
	pieceContainer
	pieceNode
	pieceLabel
	pieceInput
	pieceStream
	pieceLogfile
	pieceGeneral // a reference only text/template can render (a whole map)
)

// kubeField maps a field below .kubernetes to its piece kind.
func kubeField(name string) (pieceKind, bool) {
	switch name {
	case "namespace":
		return pieceNamespace, true
	case "pod":
		return piecePod, true
	case "pod_uid":
		return piecePodUID, true
	case "container":
		return pieceContainer, true
	case "node":
		return pieceNode, true
	}
	return 0, false
}

// piece is one part of a template rendered without text/template.
type piece struct {
	kind pieceKind
	text string // pieceText: the text; pieceLabel: the label key
	caps []int  // pieceCapture: field indexes carrying that name, first participating wins
}

// Template is a compiled label or value template.
type Template struct {
	text    string
	names   map[string][]int // capture name -> field indexes
	pieces  []piece          // the fast path; nil when general is set
	general *template.Template
}

// CompileTemplate parses text (Go text/template syntax). fields are the
// capture names in capture order as laid out in Env.Caps; empty names are
// ignored. References to captures that fields do not define are errors.
//
// Besides captures a template sees .kubernetes.namespace, .pod, .pod_uid,
// .container, .node and .labels.<key>, .input, .stream and .logfile (the
// source path); a capture of the same name hides them. Captures whose name
// is no Go identifier are reachable as {{index . "name"}}. Functions:
// base, gsub, add, subtract, multiply, divide, timestamp.
func CompileTemplate(text string, fields []string) (*Template, error) {
	t := &Template{text: text, names: make(map[string][]int)}
	for i, n := range fields {
		if n != "" {
			t.names[n] = append(t.names[n], i)
		}
	}
	regexps := make(map[string]*regexp.Regexp) // filled by check, read-only afterwards
	tmpl := template.New("t").Option("missingkey=zero").Funcs(templateFuncs(regexps))
	if _, err := tmpl.Parse(text); err != nil {
		return nil, parseError(err, text)
	}
	root := tmpl.Tree.Root
	if len(tmpl.Templates()) > 1 {
		return nil, &TemplateError{Offset: -1, Msg: "define and block are not supported in templates"}
	}
	c := checker{t: t, regexps: regexps}
	if err := c.walk(root, true); err != nil {
		return nil, err
	}
	if pieces, ok := t.fastPieces(root); ok {
		t.pieces = pieces
	} else {
		t.general = tmpl
	}
	return t, nil
}

// parseError turns a text/template parse error into a TemplateError; the
// parser reports a line, not an offset.
func parseError(err error, text string) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "template: t:")
	line, rest, ok := strings.Cut(msg, ": ")
	if n, convErr := strconv.Atoi(line); ok && convErr == nil {
		msg = rest
		if strings.Contains(text, "\n") {
			msg = fmt.Sprintf("line %d: %s", n, rest)
		}
	}
	return &TemplateError{Offset: -1, Msg: "template syntax: " + msg}
}

// String returns the template text.
func (t *Template) String() string { return t.text }

// IsConstant reports whether the template renders the same text for every line.
func (t *Template) IsConstant() bool {
	if t.general != nil {
		return false
	}
	for _, p := range t.pieces {
		if p.kind != pieceText {
			return false
		}
	}
	return true
}

// Render appends the template's output for env to dst.
func (t *Template) Render(dst []byte, env *Env) ([]byte, error) {
	if t.general != nil {
		return t.execute(dst, env)
	}
	for i := range t.pieces {
		p := &t.pieces[i]
		switch p.kind {
		case pieceText:
			dst = append(dst, p.text...)
		case pieceCapture:
			dst = append(dst, capture(env, p.caps)...)
		default:
			dst = append(dst, builtin(env, p)...)
		}
	}
	return dst, nil
}

// capture returns the bytes of the first participating field among idx.
func capture(env *Env, idx []int) []byte {
	for _, i := range idx {
		if 2*i+1 < len(env.Caps) && env.Caps[2*i] >= 0 {
			return env.Text[env.Caps[2*i]:env.Caps[2*i+1]]
		}
	}
	return nil
}

func builtin(env *Env, p *piece) string {
	l := env.Line
	if l == nil {
		return ""
	}
	switch p.kind {
	case pieceInput:
		return l.Input
	case pieceStream:
		return l.Stream
	case pieceLogfile:
		return l.Source
	}
	k := l.Kube
	if k == nil {
		return ""
	}
	switch p.kind {
	case pieceNamespace:
		return k.Namespace
	case piecePod:
		return k.Pod
	case piecePodUID:
		return k.PodUID
	case pieceContainer:
		return k.Container
	case pieceNode:
		return k.Node
	case pieceLabel:
		return k.Labels[p.text]
	}
	return ""
}

// appendWriter lets text/template write straight into the caller's buffer.
type appendWriter struct{ buf []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (t *Template) execute(dst []byte, env *Env) ([]byte, error) {
	w := &appendWriter{buf: dst}
	if err := t.general.Execute(w, t.data(env)); err != nil {
		return dst, fmt.Errorf("template %q: %w", t.text, err)
	}
	return w.buf, nil
}

// data builds the value text/template executes on.
func (t *Template) data(env *Env) map[string]any {
	var l logline.Line
	if env.Line != nil {
		l = *env.Line
	}
	var k logline.Kube
	if l.Kube != nil {
		k = *l.Kube
	}
	labels := k.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	d := make(map[string]any, len(t.names)+4)
	d["kubernetes"] = map[string]any{
		"namespace": k.Namespace, "pod": k.Pod, "pod_uid": k.PodUID,
		"container": k.Container, "node": k.Node, "labels": labels,
	}
	d["input"], d["stream"], d["logfile"] = l.Input, l.Stream, l.Source
	for name, idx := range t.names {
		d[name] = string(capture(env, idx))
	}
	return d
}

// resolve maps a field chain (.a.b.c) to what it refers to. On error it
// also returns the index of the segment at fault.
func (t *Template) resolve(ident []string) (piece, int, error) {
	name := ident[0]
	if idx, ok := t.names[name]; ok {
		if len(ident) > 1 {
			return piece{}, 1, fmt.Errorf("capture %q is text and has no field %q", name, ident[1])
		}
		return piece{kind: pieceCapture, caps: idx}, 0, nil
	}
	switch name {
	case "input", "stream", "logfile":
		if len(ident) > 1 {
			return piece{}, 1, fmt.Errorf(".%s is text and has no field %q", name, ident[1])
		}
		kind := pieceInput
		if name == "stream" {
			kind = pieceStream
		} else if name == "logfile" {
			kind = pieceLogfile
		}
		return piece{kind: kind}, 0, nil
	case "kubernetes":
		if len(ident) == 1 {
			return piece{kind: pieceGeneral}, 0, nil
		}
		if ident[1] == "labels" {
			switch len(ident) {
			case 2:
				return piece{kind: pieceGeneral}, 0, nil
			case 3:
				return piece{kind: pieceLabel, text: ident[2]}, 0, nil
			}
			return piece{}, 3, fmt.Errorf("pod label %q is text and has no field %q", ident[2], ident[3])
		}
		kind, ok := kubeField(ident[1])
		if !ok {
			return piece{}, 1, fmt.Errorf("unknown field .kubernetes.%s (known: namespace, pod, pod_uid, container, node, labels.<key>)", ident[1])
		}
		if len(ident) > 2 {
			return piece{}, 2, fmt.Errorf(".kubernetes.%s is text and has no field %q", ident[1], ident[2])
		}
		return piece{kind: kind}, 0, nil
	}
	return piece{}, 0, fmt.Errorf("template references capture %q, which the pattern does not define", name)
}

// fastPieces returns the pieces of a template that is only text and plain
// field references, so Render can skip text/template.
func (t *Template) fastPieces(root *parse.ListNode) ([]piece, bool) {
	var pieces []piece
	for _, n := range root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			if len(pieces) > 0 && pieces[len(pieces)-1].kind == pieceText {
				pieces[len(pieces)-1].text += string(n.Text)
			} else {
				pieces = append(pieces, piece{kind: pieceText, text: string(n.Text)})
			}
		case *parse.ActionNode:
			p := n.Pipe
			if len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
				return nil, false
			}
			f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok {
				return nil, false
			}
			pc, _, err := t.resolve(f.Ident)
			if err != nil || pc.kind == pieceGeneral {
				return nil, false
			}
			pieces = append(pieces, pc)
		default:
			return nil, false
		}
	}
	return pieces, true
}

// checker walks a parse tree and rejects references and calls that can
// only fail, so rule files fail at load time instead of on every line.
type checker struct {
	t       *Template
	regexps map[string]*regexp.Regexp
}

// segmentOffset returns the offset of ident[seg] in the template text.
// The parser positions a chain like .a.b at its second segment, a single
// name at itself; lead is the length of the text before ident[0] (1 for
// the dot of a field, 0 for a variable's $).
func segmentOffset(pos parse.Pos, ident []string, lead, seg int) int {
	start := int(pos)
	if len(ident) > 1 {
		start -= lead + len(ident[0])
	}
	off := start
	for i := 0; i < seg; i++ {
		off += len(ident[i]) + 1
		if i == 0 {
			off += lead - 1
		}
	}
	return off
}

func (c *checker) fail(n parse.Node, format string, args ...any) error {
	return &TemplateError{Offset: int(n.Position()), Msg: fmt.Sprintf(format, args...)}
}

// walk checks n; dotIsRoot is false where range or with changed the dot.
func (c *checker) walk(n parse.Node, dotIsRoot bool) error {
	switch n := n.(type) {
	case nil:
		return nil
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, m := range n.Nodes {
			if err := c.walk(m, dotIsRoot); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return c.walk(n.Pipe, dotIsRoot)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, cmd := range n.Cmds {
			if err := c.walk(cmd, dotIsRoot); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		if err := c.checkCall(n, dotIsRoot); err != nil {
			return err
		}
		for _, a := range n.Args {
			if err := c.walk(a, dotIsRoot); err != nil {
				return err
			}
		}
	case *parse.FieldNode:
		if dotIsRoot {
			if _, seg, err := c.t.resolve(n.Ident); err != nil {
				return &TemplateError{Offset: segmentOffset(n.Pos, n.Ident, 1, seg), Msg: err.Error()}
			}
		}
	case *parse.VariableNode:
		if n.Ident[0] == "$" && len(n.Ident) > 1 {
			if _, seg, err := c.t.resolve(n.Ident[1:]); err != nil {
				return &TemplateError{Offset: segmentOffset(n.Pos, n.Ident, 0, seg+1), Msg: err.Error()}
			}
		}
	case *parse.ChainNode:
		return c.walk(n.Node, dotIsRoot)
	case *parse.IfNode:
		return c.branch(&n.BranchNode, dotIsRoot, dotIsRoot)
	case *parse.WithNode:
		return c.branch(&n.BranchNode, false, dotIsRoot)
	case *parse.RangeNode:
		return c.branch(&n.BranchNode, false, dotIsRoot)
	case *parse.TemplateNode:
		return c.fail(n, "template actions are not supported")
	}
	return nil
}

func (c *checker) branch(b *parse.BranchNode, bodyDot, elseDot bool) error {
	if err := c.walk(b.Pipe, elseDot); err != nil {
		return err
	}
	if err := c.walk(b.List, bodyDot); err != nil {
		return err
	}
	return c.walk(b.ElseList, elseDot)
}

// checkCall validates the arguments of logmeter's functions and of index.
func (c *checker) checkCall(cmd *parse.CommandNode, dotIsRoot bool) error {
	fn, ok := cmd.Args[0].(*parse.IdentifierNode)
	if !ok {
		return nil
	}
	args := cmd.Args[1:]
	wantArgs := func(n int) error {
		if len(args) != n {
			return c.fail(cmd, "%s takes %d arguments, got %d", fn.Ident, n, len(args))
		}
		return nil
	}
	switch fn.Ident {
	case "index":
		if len(args) < 2 {
			return nil
		}
		key, isStr := args[1].(*parse.StringNode)
		_, isDot := args[0].(*parse.DotNode)
		v, isVar := args[0].(*parse.VariableNode)
		if isStr && ((isDot && dotIsRoot) || (isVar && len(v.Ident) == 1 && v.Ident[0] == "$")) {
			if _, _, err := c.t.resolve([]string{key.Text}); err != nil {
				return c.fail(key, "%v", err)
			}
		}
	case "base":
		return wantArgs(1)
	case "add", "subtract", "multiply", "divide":
		if err := wantArgs(2); err != nil {
			return err
		}
		for _, a := range args {
			if s, ok := a.(*parse.StringNode); ok {
				if _, err := toFloat(s.Text); err != nil {
					return c.fail(s, "%s: %v", fn.Ident, err)
				}
			}
		}
	case "gsub":
		if err := wantArgs(3); err != nil {
			return err
		}
		if s, ok := args[1].(*parse.StringNode); ok {
			re, err := regexp.Compile(s.Text)
			if err != nil {
				return c.fail(s, "gsub: %v", err)
			}
			c.regexps[s.Text] = re
		}
	case "timestamp":
		if err := wantArgs(2); err != nil {
			return err
		}
		s, ok := args[0].(*parse.StringNode)
		if !ok {
			return c.fail(args[0], "timestamp: the layout must be a quoted string")
		}
		// A usable layout reads back what it writes.
		if _, err := parseTimestamp(s.Text, referenceTime(s.Text)); err != nil {
			return c.fail(s, "timestamp: invalid layout %q: %v", s.Text, err)
		}
	}
	return nil
}

// templateFuncs returns the functions of the general path. regexps holds
// the gsub patterns compiled while checking, so constant patterns are
// compiled once.
func templateFuncs(regexps map[string]*regexp.Regexp) template.FuncMap {
	arith := func(name string, op func(a, b float64) (float64, error)) any {
		return func(a, b any) (float64, error) {
			x, err := toFloat(a)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", name, err)
			}
			y, err := toFloat(b)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", name, err)
			}
			return op(x, y)
		}
	}
	return template.FuncMap{
		"printf": boundedPrintf,
		"base":   path.Base,
		"gsub": func(s, pattern, repl string) (string, error) {
			re := regexps[pattern]
			if re == nil {
				var err error
				if re, err = regexp.Compile(pattern); err != nil {
					return "", fmt.Errorf("gsub: %w", err)
				}
			}
			return re.ReplaceAllString(s, gsubReplacement(repl)), nil
		},
		"add":      arith("add", func(a, b float64) (float64, error) { return a + b, nil }),
		"subtract": arith("subtract", func(a, b float64) (float64, error) { return a - b, nil }),
		"multiply": arith("multiply", func(a, b float64) (float64, error) { return a * b, nil }),
		"divide": arith("divide", func(a, b float64) (float64, error) {
			if b == 0 {
				return 0, fmt.Errorf("divide: division by zero")
			}
			return a / b, nil
		}),
		"timestamp": parseTimestamp,
	}
}

// toFloat converts a function argument: a number, or text holding one.
func toFloat(v any) (float64, error) {
	if s, ok := v.(string); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	}
	r := reflect.ValueOf(v)
	switch {
	case r.CanInt():
		return float64(r.Int()), nil
	case r.CanUint():
		return float64(r.Uint()), nil
	case r.CanFloat():
		return r.Float(), nil
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}

// gsubReplacement translates a replacement in the Ruby/Logstash style rule
// authors know from grok (\1, \k<name>, \\) into regexp.Expand syntax.
func gsubReplacement(repl string) string {
	if !strings.ContainsAny(repl, `\$`) {
		return repl
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		ch := repl[i]
		switch {
		case ch == '$':
			b.WriteString("$$")
		case ch == '\\' && i+1 < len(repl):
			next := repl[i+1]
			switch {
			case next >= '0' && next <= '9':
				fmt.Fprintf(&b, "${%c}", next)
				i++
			case next == '&':
				b.WriteString("${0}")
				i++
			case next == '\\':
				b.WriteByte('\\')
				i++
			case next == 'k' && i+2 < len(repl) && repl[i+2] == '<':
				if end := strings.IndexByte(repl[i+3:], '>'); end >= 0 {
					fmt.Fprintf(&b, "${%s}", repl[i+3:i+3+end])
					i += 3 + end
				} else {
					b.WriteByte(ch)
				}
			default:
				b.WriteByte(ch)
			}
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// referenceTime formats Go's reference time with a timestamp layout,
// written with the comma the layout may use before milliseconds.
func referenceTime(layout string) string {
	ref := time.Date(2006, 1, 2, 15, 4, 5, 999999999, time.FixedZone("MST", -7*3600))
	return strings.Replace(ref.Format(strings.Replace(layout, ",", ".", 1)), ".", ",", strings.Count(layout, ","))
}

// parseTimestamp parses value with a Go time layout and returns Unix
// seconds. Log timestamps often separate milliseconds with a comma, which
// time.Parse does not accept: a layout with exactly one comma, in ",000"
// or ",999", has that comma read as a dot in both layout and value.
func parseTimestamp(layout, value string) (float64, error) {
	switch strings.Count(layout, ",") {
	case 0:
	case 1:
		if !strings.Contains(layout, ",000") && !strings.Contains(layout, ",999") {
			return 0, fmt.Errorf("timestamp: a comma in the layout is only allowed before milliseconds (,000 or ,999)")
		}
		layout = strings.Replace(layout, ",", ".", 1)
		value = strings.ReplaceAll(value, ",", ".")
	default:
		return 0, fmt.Errorf("timestamp: a comma in the layout is only allowed before milliseconds (,000 or ,999)")
	}
	tm, err := time.Parse(layout, value)
	if err != nil {
		return 0, fmt.Errorf("timestamp: %w", err)
	}
	if y := tm.Year(); y < 1678 || y > 2261 {
		// Outside what UnixNano can hold.
		return float64(tm.Unix()) + float64(tm.Nanosecond())/1e9, nil
	}
	// The rounding grok_exporter's timestamp uses, so labels made with it
	// read the same after a migration.
	return float64(tm.UnixNano()) * 1e-9, nil
}

// maxFormatWidth bounds the widths and precisions printf accepts.
const maxFormatWidth = 1000

// boundedPrintf replaces text/template's printf: a format that comes from a
// log line (or a careless rule) must not make one label gigabytes long, so
// widths and precisions past maxFormatWidth, and widths taken from
// arguments (*), are errors.
func boundedPrintf(format string, args ...any) (string, error) {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		n := 0
	verb:
		for i++; i < len(format); i++ {
			switch c := format[i]; {
			case c >= '0' && c <= '9':
				if n = n*10 + int(c-'0'); n > maxFormatWidth {
					return "", fmt.Errorf("printf: width or precision over %d in %q", maxFormatWidth, format)
				}
			case c == '*':
				return "", fmt.Errorf("printf: widths from arguments (*) are not supported in %q", format)
			case c == '%' || (c|0x20 >= 'a' && c|0x20 <= 'z'):
				break verb
			default:
				n = 0
			}
		}
	}
	return fmt.Sprintf(format, args...), nil
}
