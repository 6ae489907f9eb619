package match

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// goExpanded turns a Go regexp with named groups into an Expanded whose
// fields are those groups, so the engine can be compared with Go's regexp.
func goExpanded(t testing.TB, re string) *Expanded {
	t.Helper()
	exp := &Expanded{}
	var b strings.Builder
	for i := 0; i < len(re); i++ {
		if strings.HasPrefix(re[i:], "(?P<") {
			j := strings.IndexByte(re[i:], '>')
			exp.Fields = append(exp.Fields, Field{Name: re[i+4 : i+j]})
			fmt.Fprintf(&b, "(?P<f%d>", len(exp.Fields)-1)
			i += j
			continue
		}
		if re[i] == '\\' && i+1 < len(re) {
			b.WriteString(re[i : i+2])
			i++
			continue
		}
		b.WriteByte(re[i])
	}
	exp.Regexp = b.String()
	return exp
}

func namedCaps(re *regexp.Regexp, line string) ([]int, bool) {
	m := re.FindStringSubmatchIndex(line)
	if m == nil {
		return nil, false
	}
	var out []int
	for i, n := range re.SubexpNames() {
		if n != "" {
			out = append(out, m[2*i], m[2*i+1])
		}
	}
	return out, true
}

const ipv4 = `(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)`
const host = `\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(?:\.?|\b)`
const httpdate = `(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])/\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/(?:\d\d){1,2}:(?:2[0123]|[01]?[0-9]):(?:[0-5][0-9]):(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?) (?:[+-]?(?:[0-9]+))`
const number = `(?:[+-]?(?:[0-9]+(?:\.[0-9]+)?)|\.[0-9]+)`

var diffPatterns = []string{
	`(?P<client>` + ipv4 + `|` + host + `) (?P<ident>[a-zA-Z0-9._-]+) (?P<auth>[a-zA-Z0-9._-]+) \[(?P<ts>` + httpdate + `)\] "(?P<method>\b\w+\b) (?P<path>\S+) HTTP/(?P<ver>` + number + `)" (?P<status>[+-]?[0-9]+) (?P<bytes>[+-]?[0-9]+) "(?P<ref>.*?)" "(?P<agent>.*?)" (?P<rt>` + number + `)`,
	`level=(?P<level>\w+)`,
	`(?P<a>\w+)=(?P<b>\S*)`,
	`^(?P<sev>[IWEF])(?P<mmdd>\d{4}) (?P<time>[0-9:.]+) +(?P<tid>\d+) (?P<file>[^:]+):(?P<line>\d+)\] (?P<msg>.*)$`,
	`(?P<x>.*) end`,
	`(?P<x>.*?),(?P<y>.*?),(?P<z>.*)`,
	`a(?P<x>b|bc)(?P<y>c?)d`,
	`(?P<w>\b\w+\b)x`,
	`"(?:(?P<verb>\w+) (?P<req>\S+)(?: HTTP/(?P<v>[0-9.]+))?|(?P<raw>.*?))" (?P<code>\d+)`,
	`(?P<n>\d+)`,
	`(?P<n>[0-9]+(?:\.[0-9]+)?)$`,
	`(?i)error: (?P<m>.*)`,
	`x(?P<a>\d*)(?P<b>\d*)y`,
	`(?P<k>[a-z]+):(?P<v>[^,]*),?`,
}

var diffLines = []string{
	`192.0.2.1 - - [01/May/2024:12:00:00 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "curl/8.0" 0.002`,
	`2001:db8::1 - bob [31/Dec/2024:23:59:60 -0700] "POST /api?q=1 HTTP/2.0" 500 0 "http://x/"y"" "Mozilla/5.0 (X11)" 12.5`,
	`web-1.example.com - - [1/Jan/2024:01:02:03 +0100] "GET / HTTP/1.0" 304 - "-" "-" 1`,
	`garbage 192.0.2.7 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-" 0.5 trailing`,
	`ts=1 level=info msg="hi" level=warn`,
	`I0501 12:00:00.123456    1234 server.go:123] Started`,
	`E0501 12:00:00.123456 1 a.go:1] boom: it failed`,
	`this is the end of the end`,
	`a,b,c,d,e`,
	`abcd abccd acd`,
	`hello world x`,
	`"GET /x HTTP/1.1" 200 and "weird stuff" 404`,
	`12345 abc 678`,
	`value 3.14`,
	`ERROR: disk full`,
	`x12y x1y xy`,
	`a:1,b:2,c:`,
	``,
	`ünïcödé 192.0.2.1 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 1 "ä" "ö" 0.1`,
	"\xff\xfe level=\xffx",
}

func TestMatchAgreesWithRegexp(t *testing.T) {
	for _, pat := range diffPatterns {
		goRe := regexp.MustCompile(pat)
		p, err := compileExpanded(pat, goExpanded(t, pat))
		if err != nil {
			t.Fatalf("%s: %v", pat, err)
		}
		m := p.NewMatcher()
		caps := make([]int, 2*len(p.Fields()))
		for _, line := range diffLines {
			want, wantOK := namedCaps(goRe, line)
			got := m.Match([]byte(line), caps)
			if got != wantOK {
				t.Errorf("pattern %q line %q: match %v, regexp says %v", pat, line, got, wantOK)
				continue
			}
			if got && fmt.Sprint(caps) != fmt.Sprint(want) {
				t.Errorf("pattern %q line %q: caps %v, regexp says %v", pat, line, caps, want)
			}
		}
	}
}
