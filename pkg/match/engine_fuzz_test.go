package match

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fuzzGoPatterns are Go regexps without lookarounds: Go's regexp is the
// reference. They aim at the places where cutting an expression into
// segments at literals could change which match or which captures win.
var fuzzGoPatterns = []string{
	``,
	`x`,
	`→`,
	`(?P<a>.*),(?P<b>.*)`,
	`(?P<a>.*?),(?P<b>.*?),`,
	`(?P<a>.*)x(?P<b>.*)x`,
	`(?P<a>.*?)xx(?P<b>.*)xx`,
	`(?P<a>(?:a|,)+),(?P<b>\w*)`,
	`(?P<a>(?:a+)+)b`,
	`(?P<a>(?:a*)*)(?P<b>a*)`,
	`(?P<a>a|ab|)(?P<b>b?)c`,
	`(?P<a>[^,]*),(?P<b>[^,]*),?`,
	`(?P<a>\b\w+\b)x`,
	`(?P<a>\w+)\bx`,
	`(?P<a>\w+)\B(?P<b>\w)`,
	`a^b|(?P<c>c)`,
	`(?m)(?P<a>^\w+$)\n(?P<b>^.*)`,
	`(?P<a>.*)$\n?`,
	`(?P<a>x*)$`,
	`^(?P<a>.*?)(?P<b>\d*)$`,
	`(?i)error: (?P<m>\w+) (?P<n>.*)`,
	`(?P<a>(?i:abc)+)abc`,
	`(?P<a>\w+)(?i:x)(?P<b>\w*)`,
	`(?:|a)(?P<a>a*)b`,
	`(?:(?P<x>a)b)*c`,
	`z(?:(?P<x>[ab])|c)*,`,
	`(?P<a>.*)(?:,(?P<b>x))?$`,
	`(?P<a>[^ ]*)(?: (?P<b>[^ ]*))? end`,
	`(?P<a>.*)→(?P<b>.*)`,
	`(?P<a>.*?)→(?P<b>[^→]*)→`,
	`(?P<a>[^→]*)→`,
	`(?P<a>é+)é(?P<b>.)`,
	`(?P<a>(?s:.*))\n(?P<b>.*)`,
	`(?P<a>.+?)(?P<b>\n|$)`,
	`(?P<a>\d+)(?P<b>\d+)`,
	`(?P<a>.*?)(?P<b>.*?)`,
	`(?P<a>.*)(?P<b>.*)x`,
	`(?P<a>.*?)(?P<b>.*?)x`,
	`(?P<ip>(?:[0-9A-Fa-f]{1,4}:){1,7}[0-9A-Fa-f]{0,4}(?:%.+)?) (?P<r>\S+)`,
	`(?P<h>[a-z.]+|(?:[0-9a-f]*:)+[0-9a-f]*(?:%.+)?) (?P<u>\S+) (?P<v>.*)`,
	`"(?P<q>(?:\\.|[^\\"]+)*)" (?P<r>.*)`,
	`(?P<a>a{2,3}?)(?P<b>a{0,2})b`,
	`(?P<k>[a-z]+)=(?P<v>"[^"]*"|\S*)(?: |$)`,
	`\A(?P<a>\w*)\z`,
	`(?P<a>\S+)\s+(?P<b>\S+)`,
	`(?P<a>x?)(?P<b>x?)(?P<c>x?)xx`,
}

// fuzzGrokPatterns come from the library: lookarounds included, so the
// backtracker and the Pike VM over the whole expression are the reference.
var fuzzGrokPatterns = []string{
	`%{DATA:a}%{DATA:b}`,
	`%{DATA:a}%{GREEDYDATA:b}`,
	`%{DATA:a},%{DATA:b},%{GREEDYDATA:c}`,
	`%{WORD:a}x`,
	`%{WORD:a} %{WORD:b}`,
	`%{NUMBER:a}%{NUMBER:b}`,
	`%{NUMBER:a}.%{NUMBER:b}`,
	`%{INT:a}-%{INT:b}`,
	`%{TIME:t}`,
	`%{TIME:a}:%{TIME:b}`,
	`%{IPV4:ip}.%{INT:n}`,
	`%{IPV6:ip} %{WORD:w}`,
	`%{IPORHOST:h} %{NOTSPACE:u}`,
	`%{IPORHOST:h}:%{POSINT:p}`,
	`%{IP:a}%{IP:b}`,
	`%{QUOTEDSTRING:q} %{QUOTEDSTRING:r}`,
	`%{QS:q}"`,
	`(?<![a-z])%{WORD:w}(?![a-z])`,
	`(?<=x)%{INT:n}`,
	`%{INT:n}(?=x)`,
	`a(?!bc)%{DATA:d}c`,
	`(?<!ab)%{WORD:w}`,
	`(?<=→)%{DATA:a}→`,
	`%{DATA:a}(?<=x)x%{DATA:b}`,
	`^%{DATA:a}$`,
	`%{DATA:a}$ x`,
	`%{GREEDYDATA:a}x%{GREEDYDATA:b}x`,
	`(?:%{INT:a}x)?%{WORD:w}`,
	`(?:%{INT:a},)*%{INT:b}`,
	`%{LOGLEVEL:l}`,
	`(?i)%{LOGLEVEL:l} x`,
	`%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:msg}`,
	`%{SYSLOGBASE} %{GREEDYDATA:msg}`,
	`%{COMMONAPACHELOG}`,
	nginxTimed,
}

var fuzzLines = []string{
	``,
	`x`,
	`,,,`,
	`a,b,c`,
	`aaa,b`,
	`axxbxx`,
	`abc abc`,
	`aab aaab`,
	`abcabcabc`,
	"ab\ncd",
	"word\nrest of it",
	"a\n",
	"\n",
	`ERROR: disk full now`,
	`eRRoR: x y`,
	`key=value other="q v" last=`,
	`a→b→c`,
	`→→`,
	`ééé éx`,
	"\xff\xfe,\xff",
	"\xe2\x86,\xe2\x86\x92",
	`123456`,
	`12.5-3.25`,
	`1.2.3.4.5`,
	`10.0.0.1.80`,
	`fe80::1%eth0 user`,
	`fe80::1%eth0 x y z`,
	`2001:db8::1 bob`,
	`::1 ::2`,
	`host.example.com:8080`,
	`12:34:56`,
	`12:34:56:01:02:03`,
	`x12 y12x`,
	`xab xabd`,
	`xabc`,
	`"a\"b" "c"`,
	`"unterminated`,
	`INFO x`,
	`warning x`,
	`2024-05-01T12:00:00.123Z ERROR something broke`,
	`May  1 12:00:00 host sshd[123]: Accepted publickey`,
	`203.0.113.45 - - [01/May/2024:12:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl" 0.042`,
	`fe80::1%eth0 - - [01/May/2024:12:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl" 0.042`,
	`zab,cd,`,
	`za,a,`,
	"\u212aK kK",
	"\u017fS sS",
}

// fuzzTarget is one compiled pattern with its references.
type fuzzTarget struct {
	p     *Pattern
	m     *Matcher
	re    *regexp.Regexp // nil when the expression has lookarounds
	goRef bool           // re has the user's group names (Go-syntax mode)
	bt    *backtracker
	pk    *pike
}

var (
	fuzzMu      sync.Mutex
	fuzzTargets = map[string]*fuzzTarget{}
	fuzzLib     *Library
)

// fuzzCompile compiles pat as a Go regexp (grok false) or a grok expression
// and caches the result; nil means the input is not a usable pattern.
func fuzzCompile(t testing.TB, pat string, grok bool) *fuzzTarget {
	key := fmt.Sprint(grok, pat)
	fuzzMu.Lock()
	defer fuzzMu.Unlock()
	if ft, ok := fuzzTargets[key]; ok {
		return ft
	}
	ft := compileTarget(t, pat, grok)
	fuzzTargets[key] = ft
	return ft
}

func compileTarget(t testing.TB, pat string, grok bool) *fuzzTarget {
	var exp *Expanded
	ft := &fuzzTarget{}
	if grok {
		if fuzzLib == nil {
			fuzzLib = NewLibrary()
		}
		var err error
		if exp, err = fuzzLib.Expand(pat); err != nil || len(exp.Regexp) > 20000 {
			return nil
		}
	} else {
		// goExpanded understands (?P<name> only, and must not see a
		// group name that looks like a placeholder.
		if strings.Contains(pat, `\Q`) || strings.Contains(pat, `(?<`) {
			return nil
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil
		}
		ft.re, ft.goRef = re, true
		exp = goExpanded(t, pat)
	}
	p, err := compileExpanded(pat, exp)
	if err != nil {
		return nil
	}
	if grok && len(exp.Lookarounds) == 0 {
		ft.re = regexp.MustCompile(exp.Regexp)
	}
	ft.p, ft.m = p, p.NewMatcher()
	ft.bt, ft.pk = newBacktracker(p.full, p.looks), newPike(p.full, p.looks)
	return ft
}

// checkLine compares the fast path with the references on one line.
func checkLine(t *testing.T, ft *fuzzTarget, line []byte) {
	t.Helper()
	p := ft.p
	caps := make([]int, 2*len(p.Fields()))
	got := ft.m.Match(line, caps)
	gotS := fmt.Sprint(got, caps)
	slots := make([]int, max(p.full.NumCap, 2))
	fromSlots := func(ok bool) string {
		want := make([]int, len(caps))
		for i := range want {
			want[i] = -1
		}
		if ok {
			for i, slot := range p.fieldSlot {
				if slot >= 0 {
					want[2*i], want[2*i+1] = slots[slot], slots[slot+1]
				}
			}
		}
		return fmt.Sprint(ok, want)
	}
	if ft.re != nil {
		var want string
		if ft.goRef {
			c, ok := namedCaps(ft.re, string(line))
			if c == nil {
				c = make([]int, len(caps))
				for i := range c {
					c[i] = -1
				}
			}
			want = fmt.Sprint(ok, c)
		} else {
			m := ft.re.FindSubmatchIndex(line)
			for i := range slots {
				slots[i] = -1
			}
			copy(slots, m)
			want = fromSlots(m != nil)
		}
		if want != gotS {
			t.Fatalf("pattern %q line %q: fast path %s, regexp %s", p.expr, line, gotS, want)
		}
	}
	if w := fromSlots(ft.pk.run(line, 0, -1, p.anchored, slots)); w != gotS {
		t.Fatalf("pattern %q line %q: fast path %s, pike %s", p.expr, line, gotS, w)
	}
	if ft.bt.fits(len(line)) {
		if w := fromSlots(ft.bt.run(line, 0, -1, p.anchored, slots)); w != gotS {
			t.Fatalf("pattern %q line %q: fast path %s, backtracker %s", p.expr, line, gotS, w)
		}
	}
	// The exact fallback alone must agree as well.
	ft.m.line, ft.m.caps = line, caps
	for i := range caps {
		caps[i] = -1
	}
	if w := fmt.Sprint(ft.m.slow(), caps); w != gotS {
		t.Fatalf("pattern %q line %q: fast path %s, slow path %s", p.expr, line, gotS, w)
	}
}

// Fragments and separators that composed patterns are built from: each
// byte of the fuzzer's pat string picks the next piece, so the fuzzer
// explores combinations rather than regexp syntax. @ is a unique group name.
var (
	composeGo = []string{
		`(?P<@>.*)`, `(?P<@>.*?)`, `(?P<@>.+)`, `(?P<@>[^,]*)`, `(?P<@>\w+)`, `(?P<@>\b\w+\b)`,
		`(?P<@>\d*)`, `(?P<@>a|ab|)`, `(?:(?P<@>a),)?`, `(?P<@>(?:a|,)+)`, `(?P<@>\S+)`,
		`(?P<@>[^→]*)`, `(?P<@>(?s:.*))`, `(?P<@>(?i:x)+)`, `\b`, `\B`, `^`, `$`, `(?m:^)`, `(?m:$)`,
		`(?P<@>[0-9a-f:]+(?:%.+)?)`, `(?P<@>x?)`, `(?P<@>(?:xx)*)`,
	}
	composeGrok = []string{
		`%{DATA:@}`, `%{GREEDYDATA:@}`, `%{WORD:@}`, `%{NUMBER:@}`, `%{INT:@}`, `%{NOTSPACE:@}`,
		`%{IPORHOST:@}`, `%{IPV4:@}`, `%{TIME:@}`, `%{QS:@}`, `(?<!x)`, `(?<![a-z])`, `(?=x)`,
		`(?!,)`, `(?!xa)`, `(?<=→)`, `(?:%{INT:@})?`, `\b`, `^`, `$`, `%{SPACE}`, `(?=.*x)`,
	}
	composeSeps = []string{``, `,`, `x`, ` `, `→`, `xx`, `, `, `"`, `:`, `\n`, `é`, `a`}
)

func compose(pick string, frags []string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(pick) && i < 10; i++ {
		c := int(pick[i])
		if i%2 == 0 {
			f := frags[c%len(frags)]
			for strings.Contains(f, "@") {
				f = strings.Replace(f, "@", fmt.Sprintf("g%d", n), 1)
				n++
			}
			b.WriteString(f)
		} else {
			b.WriteString(composeSeps[c%len(composeSeps)])
		}
	}
	return b.String()
}

// FuzzMatch: mode selects a listed Go pattern (0), a listed grok pattern
// (1), pat as a Go regexp (2) or as a grok expression (3), or a pattern
// composed from fragments picked by the bytes of pat, in Go syntax (4) or
// grok (5).
func FuzzMatch(f *testing.F) {
	for i := range fuzzGoPatterns {
		for j, l := range fuzzLines {
			if (i+j)%5 == 0 {
				f.Add(uint8(0), uint8(i), "", []byte(l))
			}
		}
	}
	for i := range fuzzGrokPatterns {
		for j, l := range fuzzLines {
			if (i+j)%5 == 0 {
				f.Add(uint8(1), uint8(i), "", []byte(l))
			}
		}
	}
	f.Add(uint8(2), uint8(0), `(?P<a>b*)(?P<c>.*?)b`, []byte("abbab"))
	f.Add(uint8(2), uint8(0), `(?P<a>[^:]*):(?P<b>.*):`, []byte("a:b:c:"))
	f.Add(uint8(3), uint8(0), `%{WORD:a}[:]%{DATA:b}(?!x)`, []byte("w:dx:"))
	f.Add(uint8(3), uint8(0), `(?<=[ab])%{DATA:a}(?=[cd])`, []byte("xacbd"))
	for i, l := range fuzzLines {
		pick := fmt.Sprintf("%c%c%c%c%c", i, i*7+1, i*3+2, i*5+3, i*11)
		f.Add(uint8(4), uint8(0), pick, []byte(l))
		f.Add(uint8(5), uint8(0), pick, []byte(l))
	}
	f.Fuzz(func(t *testing.T, mode uint8, idx uint8, pat string, line []byte) {
		if len(line) > 2048 || len(pat) > 120 {
			return
		}
		var ft *fuzzTarget
		switch mode % 6 {
		case 0:
			ft = fuzzCompile(t, fuzzGoPatterns[int(idx)%len(fuzzGoPatterns)], false)
		case 1:
			ft = fuzzCompile(t, fuzzGrokPatterns[int(idx)%len(fuzzGrokPatterns)], true)
		case 2:
			ft = fuzzCompile(t, pat, false)
		case 3:
			ft = fuzzCompile(t, pat, true)
		case 4:
			ft = fuzzCompile(t, compose(pat, composeGo), false)
		case 5:
			ft = fuzzCompile(t, compose(pat, composeGrok), true)
		}
		if ft == nil {
			return
		}
		checkLine(t, ft, line)
	})
}

// TestFuzzPatternsOnMutatedLines is a quick deterministic sweep over every
// listed pattern with mutated lines, so the listed shapes are checked in a
// plain `go test` as well.
func TestFuzzPatternsOnMutatedLines(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var targets []*fuzzTarget
	for _, pat := range fuzzGoPatterns {
		ft := fuzzCompile(t, pat, false)
		if ft == nil {
			t.Fatalf("%q does not compile", pat)
		}
		targets = append(targets, ft)
	}
	for _, pat := range fuzzGrokPatterns {
		ft := fuzzCompile(t, pat, true)
		if ft == nil {
			t.Fatalf("%q does not compile", pat)
		}
		targets = append(targets, ft)
	}
	alphabet := []string{",", "x", "a", "b", " ", "\n", "→", "\xff", "1", ":", ".", "\"", "é", "xx", "K", "\u212a"}
	for _, ft := range targets {
		for _, l := range fuzzLines {
			checkLine(t, ft, []byte(l))
		}
		for range 300 {
			b := []byte(fuzzLines[r.IntN(len(fuzzLines))])
			for range r.IntN(5) {
				i := r.IntN(len(b) + 1)
				frag := alphabet[r.IntN(len(alphabet))]
				b = append(b[:i], append([]byte(frag), b[i:]...)...)
			}
			checkLine(t, ft, b)
		}
	}
}

// TestEngineRegressions keeps the shapes the fast path once got wrong:
// captures and lookarounds inside a repetition, case folding beyond ASCII,
// an ambiguous segment with too many lookbehinds for the DFA, and U+FFFD
// literals (which also match invalid bytes).
func TestEngineRegressions(t *testing.T) {
	for _, c := range []struct {
		pat  string
		grok bool
		line string
	}{
		{`z(?P<x>[a,])*,`, false, "za,a,"},
		{`z(?P<x>[a,])+,`, false, "za,a,"},
		{`(?P<a>(?i:k)*)K`, false, "\u212aK"},
		{`(?P<a>(?i:s)+)S`, false, "\u017fS"},
		{`z(?P<a>(?:(?!,).)*),`, true, "zab,cd,"},
		{`z(?:(?<!a).)*,`, true, "zab,cd,"},
		{strings.Repeat(`%{NUMBER}\s+`, 28) + `%{NUMBER:last} end`, true, strings.Repeat("1 ", 29) + "end"},
		{`\x{FFFD}`, false, "\xff"},
		{`a\x{FFFD}b (?P<x>\w+)`, false, "a\xffb cd"},
	} {
		checkLine(t, compileTarget(t, c.pat, c.grok), []byte(c.line))
	}
}

// TestDFAStatesBounded runs IPv6-heavy patterns over many different lines
// and checks that no lazily built DFA grows past its state cap.
func TestDFAStatesBounded(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	hex := "0123456789abcdefABCDEF:.%"
	for _, expr := range []string{`%{IPV6:a} %{IPORHOST:b} %{IP:c}`, `%{IP:a}`, `%{IPORHOST:a}`} {
		p, err := NewLibrary().Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		m := p.NewMatcher()
		caps := make([]int, 2*len(p.Fields()))
		peak := 0
		for range 20000 {
			b := make([]byte, 1+r.IntN(80))
			for i := range b {
				b[i] = hex[r.IntN(len(hex))]
				if r.IntN(12) == 0 {
					b[i] = ' '
				}
			}
			m.Match(b, caps)
			for _, d := range append(append([]*dfa(nil), m.boolDFA...), m.firstDFA) {
				if d == nil {
					continue
				}
				if len(d.states) > d.maxStates {
					t.Fatalf("%s: %d DFA states, cap %d", expr, len(d.states), d.maxStates)
				}
				peak = max(peak, len(d.states))
			}
		}
		t.Logf("%s: peak %d DFA states", expr, peak)
	}
}

// TestDFAStateCapFallback shrinks the state cap so that DFAs fill up and
// reset all the time: answers must not change.
func TestDFAStateCapFallback(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, expr := range []string{`%{IPORHOST:h} %{NOTSPACE:u}`, `%{IP:a}`, `%{DATA:a},%{IPV6:b} x`} {
		ft := compileTarget(t, expr, true)
		for _, d := range append(append([]*dfa(nil), ft.m.boolDFA...), ft.m.firstDFA) {
			if d != nil {
				d.maxStates = 8
			}
		}
		for range 3000 {
			b := make([]byte, 1+r.IntN(60))
			for i := range b {
				b[i] = "0123456789abcdef:.%, x"[r.IntN(22)]
			}
			checkLine(t, ft, b)
		}
	}
}

// Performance attacks: lines on which the fast path may burn its budget.
// Compare the 1 KB and 10 KB ns/op: a ratio near 10 is linear, near 100 is
// quadratic.
func BenchmarkMatchAdversarial(b *testing.B) {
	cases := []struct {
		name, expr string
		grok       bool
		line       func(n int) string
	}{
		{"separators", `%{DATA:a},%{DATA:b},%{DATA:c}x`, true, func(n int) string { return strings.Repeat(",", n) }},
		{"spaces", `%{IPORHOST:h} %{NOTSPACE:u} %{WORD:w}x`, true, func(n int) string { return strings.Repeat(" ", n) }},
		{"noLiteralWord", `%{WORD:w}%{INT:n}`, true, func(n int) string { return strings.Repeat("a", n) }},
		{"noLiteralClass", `(?P<a>[a-z]+\d)`, false, func(n int) string { return strings.Repeat("a", n) }},
		{"ambiguousFirst", `(?P<a>[a-z ]+\d) `, false, func(n int) string { return strings.Repeat("a ", n/2) }},
		{"lookaheadBody", `(?!.*error)%{WORD:w}x`, true, func(n int) string { return strings.Repeat("a ", n/2-1) + "x" }},
		{"greedyTwice", `%{GREEDYDATA:a}xx%{GREEDYDATA:b}xx`, true, func(n int) string { return strings.Repeat("x", n) + "y" }},
		{"ipv6", `%{IPV6:ip} %{WORD:w}`, true, func(n int) string { return strings.Repeat("1:", n/2) }},
	}
	for _, c := range cases {
		var exp *Expanded
		if c.grok {
			var err error
			if exp, err = NewLibrary().Expand(c.expr); err != nil {
				b.Fatal(err)
			}
		} else {
			exp = goExpanded(b, c.expr)
		}
		p, err := compileExpanded(c.expr, exp)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1 << 10, 10 << 10} {
			line := []byte(c.line(n))
			b.Run(fmt.Sprintf("%s/%dB", c.name, n), func(b *testing.B) {
				m := p.NewMatcher()
				caps := make([]int, 2*len(p.Fields()))
				b.ReportAllocs()
				b.SetBytes(int64(len(line)))
				for b.Loop() {
					m.Match(line, caps)
				}
			})
		}
	}
}

// BenchmarkGoRegexpAdversarial is Go's regexp on the two quadratic cases of
// BenchmarkMatchAdversarial, for comparison.
func BenchmarkGoRegexpAdversarial(b *testing.B) {
	for _, c := range []struct{ name, expr, unit string }{
		{"noLiteralClass", `(?P<a>[a-z]+\d)`, "a"},
		{"ambiguousFirst", `(?P<a>[a-z ]+\d) `, "a "},
	} {
		re := regexp.MustCompile(c.expr)
		for _, n := range []int{1 << 10, 10 << 10} {
			line := []byte(strings.Repeat(c.unit, n/len(c.unit)))
			b.Run(fmt.Sprintf("%s/%dB", c.name, n), func(b *testing.B) {
				for b.Loop() {
					re.FindSubmatchIndex(line)
				}
			})
		}
	}
}
