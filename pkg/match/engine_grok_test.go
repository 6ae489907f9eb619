package match

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// grokPatterns use the real library, lookarounds included (NUMBER, IPV4,
// TIME carry them), so Go's regexp cannot serve as the reference: the three
// engines of the package are compared with each other instead.
var grokPatterns = []string{
	nginxTimed,
	`^%{IPORHOST:client} - %{NOTSPACE:user} \[%{HTTPDATE:ts}\] "%{WORD:method} %{NOTSPACE:path} HTTP/%{NUMBER:v}" %{INT:status} %{INT:bytes} "%{DATA:ref}" "%{DATA:agent}" %{NUMBER:rt}(?: %{NUMBER:up})?$`,
	`%{COMBINEDAPACHELOG}`,
	`%{TIME:t}`,
	`at %{TIME:t} x`,
	`%{NUMBER:a}%{NUMBER:b}`,
	`%{IP:ip}`,
	`%{SYSLOGBASE} %{GREEDYDATA:msg}`,
	`%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:msg}`,
	`level=%{LOGLEVEL:level}`,
	`%{QUOTEDSTRING:q}`,
}

var grokLines = []string{
	`203.0.113.45 - - [01/May/2024:12:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl" 0.042`,
	`203.0.113.45 - - [01/May/2024:12:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl" 0.042 0.040`,
	`fe80::1%eth0 - - [01/May/2024:12:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl" 0.042`,
	`2001:db8::7 - bob [31/Dec/2024:23:59:59 -0700] "POST /x?y=1 HTTP/2.0" 500 0 "http://r/" "Mozilla/5.0" 1.5`,
	`198.51.100.3 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "agent"`,
	`the time is 12:34:56 now`,
	`at 12:34:56 x`,
	`at 112:34:56 x`,
	`at 12:34:567 x`,
	`1234`,
	`-12.5+3`,
	`address 10.1.2.3 and 1.2.3.456`,
	`May  1 12:00:00 host sshd[123]: Accepted publickey`,
	`2024-05-01T12:00:00.123Z ERROR something broke`,
	`ts=1 level=warning msg=x`,
	`say "hello \"world\"" and 'bye'`,
	``,
}

func TestEnginesAgreeOnGrok(t *testing.T) {
	lib := NewLibrary()
	r := rand.New(rand.NewPCG(3, 4))
	for _, expr := range grokPatterns {
		p, err := lib.Compile(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		m := p.NewMatcher()
		bt := newBacktracker(p.full, p.looks)
		pk := newPike(p.full, p.looks)
		caps := make([]int, 2*len(p.Fields()))
		slots := make([]int, max(p.full.NumCap, 2))
		check := func(line string) {
			fast := m.Match([]byte(line), caps)
			got := fmt.Sprint(fast, caps)
			for name, run := range map[string]func() bool{
				"backtracker": func() bool { return bt.run([]byte(line), 0, -1, p.anchored, slots) },
				"pike":        func() bool { return pk.run([]byte(line), 0, -1, p.anchored, slots) },
			} {
				ok := run()
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
				if w := fmt.Sprint(ok, want); w != got {
					t.Fatalf("%s on %q: fast path %s, %s %s", expr, line, got, name, w)
				}
			}
		}
		for _, line := range grokLines {
			check(line)
		}
		for range 3000 {
			base := grokLines[r.IntN(len(grokLines))]
			b := []byte(base)
			for range r.IntN(4) {
				if len(b) == 0 {
					break
				}
				i := r.IntN(len(b))
				b[i] = " 0:.-[]\"a%1"[r.IntN(11)]
			}
			check(string(b))
		}
	}
}

func TestTimeDoesNotConsumeNeighbours(t *testing.T) {
	p, err := NewLibrary().Compile(`%{TIME:t}`)
	if err != nil {
		t.Fatal(err)
	}
	m := p.NewMatcher()
	caps := make([]int, 2)
	for _, c := range []struct{ line, want string }{
		{"at 12:34:56 ok", "12:34:56"},
		{"[12:34:56]", "12:34:56"},
		{"x112:34:56 1:02:03", "1:02:03"},
		{"12:34:56", "12:34:56"},
		{"12:34:567", ""},
	} {
		got := ""
		if m.Match([]byte(c.line), caps) {
			got = c.line[caps[0]:caps[1]]
		}
		if got != c.want {
			t.Errorf("%q: TIME captured %q, want %q", c.line, got, c.want)
		}
	}
}

func TestLookaroundForms(t *testing.T) {
	lib := NewLibrary()
	lib.Define(Definition{Name: "ANYAHEAD", Expr: `(?=%{GREEDYDATA})x`, File: "p", Line: 1, Col: 10})
	lib.Define(Definition{Name: "VARBEHIND", Expr: `(?<=a+)x`, File: "p", Line: 2, Col: 11})
	lib.Define(Definition{Name: "TWOAHEAD", Expr: `a(?!bc)`, File: "p", Line: 3, Col: 10})
	for _, c := range []struct {
		expr, line string
		want       bool
		err        string
	}{
		{expr: `%{ANYAHEAD:v}`, line: "yx", want: true},
		{expr: `(?!.*error)%{WORD:w}`, line: "all good", want: true},
		{expr: `^(?!.*error)%{WORD:w}`, line: "an error", want: false},
		{expr: `%{TWOAHEAD:v}`, line: "abc", want: false},
		{expr: `%{TWOAHEAD:v}`, line: "abd", want: true},
		{expr: `%{VARBEHIND:v}`, err: "p:2:11: pattern VARBEHIND uses lookbehind, which is not supported"},
	} {
		p, err := lib.Compile(c.expr)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s: error %v, want %q", c.expr, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if got := p.NewMatcher().Match([]byte(c.line), make([]int, 2*len(p.Fields()))); got != c.want {
			t.Errorf("%s on %q: %v, want %v", c.expr, c.line, got, c.want)
		}
	}
}
