package match

import (
	"reflect"
	"regexp/syntax"
	"strconv"
	"strings"
	"testing"
)

func TestExpandAllBuiltins(t *testing.T) {
	l := NewLibrary()
	for _, name := range l.Names() {
		e, err := l.Expand("%{" + name + "}")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := syntax.Parse(e.Regexp, syntax.Perl); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, la := range e.Lookarounds {
			if _, err := syntax.Parse(la.Body, syntax.Perl); err != nil {
				t.Errorf("%s: lookaround body at %s:%d:%d: %v", name, la.File, la.Line, la.Col, err)
			}
		}
	}
}

// look is shorthand for a lookaround written in the expression itself.
func lookAt(col int, behind, negative bool, body string) Lookaround {
	return Lookaround{Behind: behind, Negative: negative, Body: body, Col: col}
}

func TestExpand(t *testing.T) {
	l := NewLibrary()
	l.Define(Definition{Name: "NAMED", Expr: `(?<user>\w+)@(?<host>\w+)`, File: "p", Line: 1, Col: 7})
	l.Define(Definition{Name: "AHEAD", Expr: `x(?=y)`, File: "p", Line: 2, Col: 7})
	tests := []struct {
		expr   string
		want   string
		fields []Field
		looks  []Lookaround
	}{
		{expr: `%{WORD}`, want: `(?:\b\w+\b)`},
		{expr: `%{INT:n:int} %{WORD:w}`, want: `(?P<f0>(?:[+-]?(?:[0-9]+))) (?P<f1>\b\w+\b)`, fields: []Field{{"n", "int"}, {"w", ""}}},
		{expr: `%{WORD:[http][status]:string}%{WORD:@t}%{WORD:a.b-c}`, want: `(?P<f0>\b\w+\b)(?P<f1>\b\w+\b)(?P<f2>\b\w+\b)`,
			fields: []Field{{"[http][status]", "string"}, {"@t", ""}, {"a.b-c", ""}}},
		{expr: `%{DATA:}`, want: `(?:.*?)`},
		{expr: `%{NAMED:who}`, want: `(?P<f0>(?P<f1>\w+)@(?P<f2>\w+))`, fields: []Field{{"who", ""}, {"user", ""}, {"host", ""}}},
		{expr: `(?<a>x)(?P<b>y)(?'c'z)`, want: `(?P<f0>x)(?P<f1>y)(?P<f2>z)`, fields: []Field{{"a", ""}, {"b", ""}, {"c", ""}}},
		{expr: `a(b|c)(?:d)`, want: `a(?:b|c)(?:d)`},
		{expr: `(?>a+)b`, want: `(?:a+)b`},
		{expr: `a*+b++c?+d{2,3}+e*?f{2}`, want: `a*b+c?d{2,3}e*?f{2}`},
		{expr: `a{,3}b{2,}{x}}`, want: `a{0,3}b{2,}\{x\}\}`},
		{expr: `a{007}b{00,010}c{01,}`, want: `a{7}b{0,10}c{1,}`},
		{expr: `.?*x+{2}`, want: `(?:.?)*(?:x+){2}`},
		{expr: `%{WORD}?*`, want: `(?:(?:\b\w+\b)?)*`},
		{expr: `ab(?=c)`, want: `ab(?P<l0>)`, looks: []Lookaround{lookAt(3, false, false, "c")}},
		{expr: `(?<!\d)x(?!%{INT:i})`, want: `(?P<l0>)x(?P<l1>)`, looks: []Lookaround{lookAt(1, true, true, `\d`), lookAt(9, false, true, `(?:(?:[+-]?(?:[0-9]+)))`)}},
		{expr: `(?<=(a)|b)`, want: `(?P<l0>)`, looks: []Lookaround{lookAt(1, true, false, `(?:a)|b`)}},
		{expr: `%{AHEAD}`, want: `(?:x(?P<l0>))`, looks: []Lookaround{{Body: "y", Pattern: "AHEAD", File: "p", Line: 2, Col: 8}}},
		{expr: `\h\H[\h_][^\H]`, want: `[0-9a-fA-F][^0-9a-fA-F][0-9a-fA-F_][^\x00-/:-@G-\x60g-\x{10FFFF}]`},
		{expr: `a\Z\z\A`, want: `a(?:\n?\z)\z\A`},
		{expr: `\e\x7\x41\x{263a}\u00e4\0\012\cA`, want: `\x1B\x{7}\x{41}\x{263a}\x{00e4}\x{0}\x{A}\x{1}`},
		{expr: `\Qa.b(%{X}\E+`, want: `a\.b\(%\{X\}+`},
		{expr: `\.\-\ \'\"\/\<`, want: `\.- '"/<`},
		{expr: `[[:alpha:][:^digit:]-][a[bc]][]x][\]\-\[]`, want: `[[:alpha:][:^digit:]-][abc][\]x][\]\-\[]`},
		{expr: `[a^b][\b\e]`, want: `[a\^b][\x08\x1B]`},
		{expr: `(?i)ab(?m:.)(?-i:c)(?im)d`, want: `(?i)ab(?s:.)(?-i:c)(?is)d`},
		{expr: "(?x) a b # comment\n c [ ] \\ d(?-x: e )", want: `abc[ ] d(?: e )`},
		{expr: "(?x: a ) b", want: `(?:a) b`},
		{expr: `(?#note)a%b`, want: `a%b`},
		{expr: `\R\N\O`, want: `(?:\r\n|[\n\v\f\r\x{85}\x{2028}\x{2029}])[^\n](?s:.)`},
		{expr: `\p{L}\pN\P{Greek}`, want: `\p{L}\pN\P{Greek}`},
		{expr: `ä€`, want: `ä€`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := l.Expand(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if e.Regexp != tt.want {
				t.Errorf("Regexp = %s\nwant       %s", e.Regexp, tt.want)
			}
			if !reflect.DeepEqual(e.Fields, tt.fields) {
				t.Errorf("Fields = %+v, want %+v", e.Fields, tt.fields)
			}
			if !reflect.DeepEqual(e.Lookarounds, tt.looks) {
				t.Errorf("Lookarounds = %+v, want %+v", e.Lookarounds, tt.looks)
			}
			if _, err := syntax.Parse(e.Regexp, syntax.Perl); err != nil {
				t.Errorf("not valid Go syntax: %v", err)
			}
		})
	}
}

func TestExpandTimeOverride(t *testing.T) {
	e, err := NewLibrary().Expand("%{TIME:t}")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.Regexp, "(?P<f0>(?P<l0>)") || !strings.HasSuffix(e.Regexp, "(?P<l1>))") {
		t.Errorf("TIME does not assert around the capture: %s", e.Regexp)
	}
	want := []Lookaround{
		{Behind: true, Negative: true, Body: "[0-9]", Pattern: "TIME", File: "builtin/default"},
		{Negative: true, Body: "[0-9]", Pattern: "TIME", File: "builtin/default"},
	}
	if len(e.Lookarounds) != 2 {
		t.Fatalf("Lookarounds = %+v", e.Lookarounds)
	}
	for i, la := range e.Lookarounds {
		la.Line, la.Col = 0, 0
		if la != want[i] {
			t.Errorf("lookaround %d = %+v, want %+v", i, la, want[i])
		}
	}
	d, _ := NewLibrary().Lookup("TIME")
	if got := e.Lookarounds[0]; got.Line != d.Line || got.Col != d.Col {
		t.Errorf("lookbehind at %d:%d, want the start of TIME %d:%d", got.Line, got.Col, d.Line, d.Col)
	}
}

func TestExpandErrors(t *testing.T) {
	l := NewLibrary()
	def := func(name, expr string, line int) {
		l.Define(Definition{Name: name, Expr: expr, File: "p.grok", Line: line, Col: len(name) + 2})
	}
	def("BACKREF", `(a)\1`, 1)
	def("A", `x%{B}`, 2)
	def("B", `%{C}y`, 3)
	def("C", `%{A}`, 4)
	def("SELF", `%{SELF}`, 5)
	def("HIDDEN", `%{NOWHERE}`, 6)
	def("LOOK", `(?=a)`, 7)
	l.Define(Definition{Name: "NOPOS", Expr: `\G`})
	tests := []struct {
		expr   string
		err    string
		offset int
	}{
		{`ab %{NOPE}`, `offset 3: unknown pattern %{NOPE}`, 3},
		{`x %{BACKREF}`, `p.grok:1:12: pattern BACKREF uses a backreference \1, which is not supported`, 2},
		{`%{A}`, `p.grok:4:3: pattern C: recursive pattern: A -> B -> C -> A`, 0},
		{`%{SELF:s}`, `p.grok:5:6: pattern SELF: recursive pattern: SELF -> SELF`, 0},
		{`..%{HIDDEN}`, `p.grok:6:8: pattern HIDDEN: unknown pattern %{NOWHERE}`, 2},
		{`(?!%{LOOK})`, `p.grok:7:6: pattern LOOK uses a lookaround inside a lookaround, which is not supported`, 3},
		{`%{NOPOS}`, `offset 0: pattern NOPOS uses \G, which is not supported`, 0},
		{`%{INT:x:bool}`, `offset 0: invalid type "bool" in %{INT:x:bool} (want int, float or string)`, 0},
		{`%{INT::int}`, `offset 0: type without a field in %{INT::int}`, 0},
		{`%{INT:a b}`, `offset 0: malformed pattern reference %{INT:a b}: invalid field name "a b"`, 0},
		{`%{IN T}`, `offset 0: malformed pattern reference %{IN T}: invalid pattern name`, 0},
		{`a%{INT`, `offset 1: malformed pattern reference: missing }`, 1},
		{`%{A:b:int:c}`, `offset 0: malformed pattern reference %{A:b:int:c}`, 0},
		{`(?<n>a)\k<n>`, `offset 7: uses a backreference \k<name>, which is not supported`, 7},
		{`(a)(?(1)b|c)`, `offset 3: uses a conditional (?(cond)...), which is not supported`, 3},
		{`a\Kb`, `offset 1: uses \K, which is not supported`, 1},
		{`(?~abc)`, `offset 0: uses the absent operator (?~...), which is not supported`, 0},
		{`(?<p>a|\g<p>)`, `offset 7: uses recursion \g<name>, which is not supported`, 7},
		{`(?R)`, `offset 0: uses recursion (?R), (?N) or (?&name), which is not supported`, 0},
		{`(?=(?<=a))`, `offset 3: uses a lookaround inside a lookaround, which is not supported`, 3},
		{`[a&&b]`, `offset 2: uses class intersection &&, which is not supported`, 2},
		{`[a[^b]]`, `offset 2: uses a negated class nested in a class, which is not supported`, 2},
		{`(?u)a`, `offset 0: uses the inline option 'u', which is not supported`, 0},
		{`\X`, `offset 0: uses \X, which is not supported`, 0},
		{`(ab`, `offset 0: missing )`, 0},
		{`ab)`, `offset 2: unmatched )`, 2},
		{`x[ab`, `offset 1: missing ] in character class`, 1},
		{`[[:alfa:]]`, `offset 1: unknown POSIX class [:alfa:]`, 1},
		{`\q`, `offset 0: unknown escape \q`, 0},
		{`a\`, `offset 1: trailing backslash`, 1},
		{`\u12`, `offset 0: malformed \u escape (want \uHHHH)`, 0},
		{`(?<1a>x)`, `offset 0: uses a group name starting with a digit, which is not supported`, 0},
		{`(?<a b>x)`, `offset 0: invalid group name "a b"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := l.Expand(tt.expr)
			ee, ok := err.(*ExpandError)
			if !ok {
				t.Fatalf("error = %v (%T), want *ExpandError", err, err)
			}
			if ee.Error() != tt.err || ee.Offset != tt.offset {
				t.Errorf("error = %q offset %d\nwant    %q offset %d", ee.Error(), ee.Offset, tt.err, tt.offset)
			}
		})
	}
}

func TestExpandBounds(t *testing.T) {
	l := NewLibrary()
	// Each level doubles the text: 2^30 bytes unless bounded.
	l.Define(Definition{Name: "P0", Expr: "x"})
	names := []string{"P0"}
	for i := 1; i <= 30; i++ {
		prev := names[len(names)-1]
		names = append(names, "P"+strconv.Itoa(i))
		l.Define(Definition{Name: names[i], Expr: "%{" + prev + "}%{" + prev + "}"})
	}
	if _, err := l.Expand("%{" + names[30] + "}"); err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Errorf("size error = %v", err)
	}
	// A chain deeper than the bound, without a cycle.
	l.Define(Definition{Name: "D0", Expr: "y"})
	prev := "D0"
	for i := 1; i <= maxExpandDepth+5; i++ {
		name := "D" + strings.Repeat("x", i)
		l.Define(Definition{Name: name, Expr: "%{" + prev + "}"})
		prev = name
	}
	if _, err := l.Expand("%{" + prev + "}"); err == nil || !strings.Contains(err.Error(), "nest deeper") {
		t.Errorf("depth error = %v", err)
	}
	if _, err := l.Expand(strings.Repeat("(", 2000) + strings.Repeat(")", 2000)); err == nil {
		t.Error("no error for groups nested 2000 deep")
	}
}

// Upstream logstash-patterns-core definitions (legacy set) that use the
// constructs vjeantet had to rewrite for RE2.
var upstreamDefinitions = []struct {
	name, expr string
	looks      int
}{
	{"BASE10NUM", `(?<![0-9.+-])(?>[+-]?(?:(?:[0-9]+(?:\.[0-9]+)?)|(?:\.[0-9]+)))`, 1},
	{"BASE16FLOAT", `\b(?<![0-9A-Fa-f.])(?:[+-]?(?:0x)?(?:(?:[0-9A-Fa-f]+(?:\.[0-9A-Fa-f]*)?)|(?:\.[0-9A-Fa-f]+)))\b`, 1},
	{"QUOTEDSTRING", "(?>(?<!\\\\)(?>\"(?>\\\\.|[^\\\\\"]+)+\"|\"\"|(?>'(?>\\\\.|[^\\\\']+)+')|''|(?>`(?>\\\\.|[^\\\\`]+)+`)|``))", 1},
	{"IPV4", `(?<![0-9])(?:(?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]))(?![0-9])`, 2},
	{"TIME", `(?!<[0-9])%{HOUR}:%{MINUTE}(?::%{SECOND})(?![0-9])`, 2},
	{"HOSTNAME", `\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(\.?|\b)`, 0},
	{"UNIXPATH", `(?>/(?>[\w_%!$@:.,-]+|\\.)*)+`, 0},
	{"WINPATH", `(?>[A-Za-z]+:|\\)(?:\\[^\\?*]*)+`, 0},
	{"YEAR", `(?>\d\d){1,2}`, 0},
	{"QS_POSSESSIVE", `"(?:[^"\\]++|\\.)*+"`, 0},
	{"SYSLOG5424SD", `\[%{DATA}\]+`, 0},
	{"RUUID", `\h{32}`, 0},
	{"HTTPD_ERRORLOG", `\[%{HTTPDERROR_DATE:timestamp}\] \[(?:%{WORD:module})?:%{LOGLEVEL:loglevel}\] \[pid %{POSINT:pid}(:tid %{NUMBER:tid})?\]( \(%{POSINT:proxy_errorcode}\)%{DATA:proxy_errormessage}:)?( \[client %{IPORHOST:clientip}:%{POSINT:clientport}\])?( %{DATA:errorcode}:)? %{GREEDYDATA:message}`, 5},
}

func TestExpandUpstream(t *testing.T) {
	l := NewLibrary()
	for _, u := range upstreamDefinitions {
		c := l.Clone()
		c.Define(Definition{Name: u.name, Expr: u.expr})
		e, err := c.Expand("%{" + u.name + ":v}")
		if err != nil {
			t.Errorf("%s: %v", u.name, err)
			continue
		}
		if _, err := syntax.Parse(e.Regexp, syntax.Perl); err != nil {
			t.Errorf("%s: %v", u.name, err)
		}
		if len(e.Lookarounds) != u.looks {
			t.Errorf("%s: %d lookarounds, want %d", u.name, len(e.Lookarounds), u.looks)
		}
		if strings.Contains(e.Regexp, "(?>") || strings.Contains(e.Regexp, "++") {
			t.Errorf("%s: Oniguruma construct left in %s", u.name, e.Regexp)
		}
	}
}

func TestExpandMemoises(t *testing.T) {
	l := NewLibrary()
	if _, err := l.Expand("%{NUMBER} %{NUMBER}"); err != nil {
		t.Fatal(err)
	}
	e := l.defs["BASE10NUM"]
	first, _ := e.translated()
	if _, err := l.Clone().Expand("%{NUMBER}"); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.translated(); &again[0] != &first[0] {
		t.Error("definition translated again")
	}
}

const nginxCombined = `%{IPORHOST:client} %{USER:ident} %{USER:auth} \[%{HTTPDATE:timestamp}\] "%{WORD:method} %{NOTSPACE:path} HTTP/%{NUMBER:httpversion}" %{INT:status} %{INT:bytes} "%{DATA:referrer}" "%{DATA:agent}" %{NUMBER:request_time}`

func BenchmarkExpandNginx(b *testing.B) {
	l := NewLibrary()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Expand(nginxCombined); err != nil {
			b.Fatal(err)
		}
	}
}
