package match

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"testing"
)

// randomLine mixes fragments that the test patterns care about.
func randomLine(r *rand.Rand) string {
	frags := []string{" ", "-", "\"", "[", "]", "a", "b", "c", "d", "x", "y", "1", "2", "0", ".", ":", ",", "=", "level=", "end", " end", "GET", "HTTP/1.1", "192.0.2.1", "01/May/2024:12:00:00 +0000", "\xff", "é", "\n", "I0501", "12:00:00.1", "x.go:12] ", "error: ", "ERROR: "}
	n := r.IntN(30)
	s := ""
	for range n {
		s += frags[r.IntN(len(frags))]
	}
	return s
}

func TestMatchRandomAgreesWithRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	matched := 0
	for _, pat := range diffPatterns {
		goRe := regexp.MustCompile(pat)
		p, err := compileExpanded(pat, goExpanded(t, pat))
		if err != nil {
			t.Fatal(err)
		}
		m := p.NewMatcher()
		caps := make([]int, 2*len(p.Fields()))
		for range 20000 {
			line := randomLine(r)
			want, wantOK := namedCaps(goRe, line)
			got := m.Match([]byte(line), caps)
			if got != wantOK || (got && fmt.Sprint(caps) != fmt.Sprint(want)) {
				t.Fatalf("pattern %q line %q: got %v %v, regexp %v %v", pat, line, got, caps, wantOK, want)
			}
			if got {
				matched++
			}
		}
	}
	t.Logf("%d matches", matched)
}
