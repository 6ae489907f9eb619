package match

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"testing"
)

// upstreamEmailLocalPart is logstash-patterns-core's ecs-v1 definition: its
// {1,62} inside {0,63} multiplies out beyond regexp/syntax's limit.
const upstreamEmailLocalPart = "EMAILLOCALPART [a-zA-Z0-9!#$%&'*+\\-/=?^_`{|}~]{1,64}(?:\\.[a-zA-Z0-9!#$%&'*+\\-/=?^_`{|}~]{1,62}){0,63}"

func TestRelaxRepeats(t *testing.T) {
	tests := []struct {
		in, want string // want "" means unchanged
		invalid  bool   // Go refuses it for another reason
	}{
		// Within the limit: untouched.
		{in: `a{1000}`},
		{in: `a{0,1000}b{1000,}`},
		{in: `(?:a{10}){100}`},
		{in: `(?:a{10}|b{100}){10}`},
		{in: `(?:(?:a{500}){0}b){3}`}, // Go does not look inside x{0}
		{in: `(?:a{1,62})+(?:b{1,62})*(?:c{1,62})?`},
		{in: `[a{1,62}]{0,63}`},      // braces in a class
		{in: `\{1001}a\x{41}{1000}`}, // a literal brace; \x{...}
		{in: `\p{L}{2}\pN{1000}`},
		{in: `a{01}`}, // Go reads a leading zero as a literal brace
		{in: `a{2,1}`, invalid: true},
		{in: `(?i){5}`, invalid: true}, // nothing to repeat
		{in: `(?:a{1,62})(?:b{1,62}){0,16}`},
		// One count over the limit.
		{in: `a{1001}`, want: `a{1000,}`},
		{in: `a{0,1001}`, want: `a*`},
		{in: `a{1,5000}?`, want: `a+?`},
		{in: `a{2,99999999999999999999}`, want: `a{2,}`},
		{in: `a{99999999999999999999,}`, want: `a{1000,}`},
		// Nested counts that multiply out over the limit: the outer bound
		// is relaxed, the inner one kept.
		{in: `(?:\.[a-z]{1,62}){0,63}`, want: `(?:\.[a-z]{1,62})*`},
		{in: `(?:a{1,62}){2,63}`, want: `(?:a{1,62}){2,}`},
		{in: `(?:a{1,62}){20,63}`, want: `(?:a{1,62}){16,}`},
		{in: `(?:a{10}){101}`, want: `(?:a{10}){100,}`},
		{in: `(?:a{1000}|b){2}`, want: `(?:a{1000}|b)+`},
		{in: `(?P<f0>a{1,62}){0,63}?x`, want: `(?P<f0>a{1,62})*?x`},
		{in: `(?i:(?:a{100}){11})`, want: `(?i:(?:a{100}){10,})`},
		{in: `(?:(?:a{10}){10}){11}`, want: `(?:(?:a{10}){10}){10,}`},
		{in: `(?:(?:a{100}){11}){2}`, want: `(?:(?:a{100}){10,})+`},
		{in: `(?:a{40}(?:b{40}){40}){2}`, want: `(?:a{40}(?:b{40}){25,})+`},
		{in: `(?:[}{]{1,62}){0,63}`, want: `(?:[}{]{1,62})*`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.in
			}
			got := relaxRepeats(tt.in)
			if got != want {
				t.Fatalf("relaxRepeats(%s) = %s, want %s", tt.in, got, want)
			}
			// The rewrite happens exactly when Go refuses the count.
			_, inErr := syntax.Parse(tt.in, syntax.Perl)
			refused := isRepeatError(inErr) && !tt.invalid
			if changed := got != tt.in; changed != refused {
				t.Errorf("changed = %v, but Go refuses the original: %v", changed, inErr)
			}
			if _, err := syntax.Parse(got, syntax.Perl); !tt.invalid && err != nil {
				t.Errorf("relaxed form does not parse: %v", err)
			}
		})
	}
}

func isRepeatError(err error) bool {
	var se *syntax.Error
	return errors.As(err, &se) && se.Code == syntax.ErrInvalidRepeatSize
}

// TestRelaxRepeatsRandom checks, on random nestings of counted repetitions,
// that the rewrite happens exactly when Go refuses the expression, that the
// result parses and that it still matches a text the original describes.
func TestRelaxRepeatsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	counts := []int{0, 1, 2, 3, 7, 10, 16, 31, 32, 62, 63, 100, 333, 999, 1000, 1001}
	// gen returns an expression and the number of a's in one text it
	// matches: each repetition taken at its lower bound, plus one where
	// allowed.
	const big = 1 << 12
	var gen func(depth int) (string, int)
	gen = func(depth int) (string, int) {
		if depth == 0 || rng.IntN(3) == 0 {
			return "a", 1
		}
		body, n := gen(depth - 1)
		if rng.IntN(4) == 0 {
			other, _ := gen(depth - 1)
			body = body + "|" + other
		}
		lo := counts[rng.IntN(len(counts))]
		reps := lo
		var q string
		switch rng.IntN(3) {
		case 0:
			q = "{" + strconv.Itoa(lo) + "}"
		case 1:
			q = "{" + strconv.Itoa(lo) + ",}"
			reps++
		default:
			hi := lo + counts[rng.IntN(len(counts))]
			q = "{" + strconv.Itoa(lo) + "," + strconv.Itoa(hi) + "}"
			if hi > lo {
				reps++
			}
		}
		return "(?:" + body + ")" + q, min(n*reps, big+1)
	}
	relaxed, matched := 0, 0
	for range 1000 {
		expr, n := gen(4)
		got := relaxRepeats(expr)
		if got != expr {
			relaxed++
		}
		_, err := syntax.Parse(expr, syntax.Perl)
		if (got != expr) != isRepeatError(err) {
			t.Fatalf("relaxRepeats(%s) = %s; Go's verdict on the original: %v", expr, got, err)
		}
		var le *syntax.Error
		if _, err := syntax.Parse(got, syntax.Perl); err != nil {
			if errors.As(err, &le) && le.Code == syntax.ErrLarge {
				continue // too large to compile, a different limit
			}
			t.Fatalf("relaxRepeats(%s) = %s, which does not parse: %v", expr, got, err)
		}
		if n <= big && !regexp.MustCompile(`\A(?:`+got+`)\z`).MatchString(strings.Repeat("a", n)) {
			t.Fatalf("relaxRepeats(%s) = %s, which does not match %d a's", expr, got, n)
		}
		if n <= big && got != expr {
			matched++
		}
	}
	// The generator must exercise both outcomes, and the rewritten texts.
	if relaxed < 100 || relaxed > 900 || matched < 50 {
		t.Errorf("%d of 1000 expressions relaxed, %d of them matched against a text", relaxed, matched)
	}
}

func TestUpstreamEmailAddress(t *testing.T) {
	l := NewLibrary()
	name, expr, _ := strings.Cut(upstreamEmailLocalPart, " ")
	l.Define(Definition{Name: name, Expr: expr})
	l.Define(Definition{Name: "EMAILADDRESS", Expr: `%{EMAILLOCALPART}@%{HOSTNAME}`})
	e, err := l.Expand("%{EMAILLOCALPART}")
	if err != nil {
		t.Fatal(err)
	}
	const want = "(?:[a-zA-Z0-9!#$%&'*+\\-/=?\\^_`{|}~]{1,64}(?:\\.[a-zA-Z0-9!#$%&'*+\\-/=?\\^_`{|}~]{1,62})*)"
	if e.Regexp != want {
		t.Errorf("EMAILLOCALPART expands to\n%s\nwant\n%s", e.Regexp, want)
	}
	p, err := l.Compile(`^%{EMAILADDRESS:e}$`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line  string
		match bool
	}{
		{"jane.doe@example.com", true},
		{"j@example.org", true},
		{"first.middle.last+tag@mail.example.co.uk", true},
		{"o'brien!#$%&*/=?^_`{|}~-x@host", true},
		{strings.Repeat("a", 64) + "@example.com", true},
		{strings.Repeat("a.", 70) + "a@example.com", true}, // beyond {0,63}: the relaxed bound
		{strings.Repeat("a", 65) + "@example.com", false},
		{"a..b@example.com", false},
		{".a@example.com", false},
		{"@example.com", false},
		{"jane doe@example.com", false},
		{"jane.doe", false},
	}
	m := p.NewMatcher()
	caps := make([]int, 2)
	for _, tt := range tests {
		if got := m.Match([]byte(tt.line), caps); got != tt.match {
			t.Errorf("Match(%q) = %v, want %v", tt.line, got, tt.match)
		} else if got && (caps[0] != 0 || caps[1] != len(tt.line)) {
			t.Errorf("Match(%q) captured [%d,%d)", tt.line, caps[0], caps[1])
		}
	}
}

// TestLoadUpstreamEmailFile loads a pattern file with the upstream line, as
// a user's pattern_files entry would, and matches with it.
func TestLoadUpstreamEmailFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "grok-patterns")
	data := "# from logstash-patterns-core ecs-v1\n" + upstreamEmailLocalPart + "\nEMAILADDRESS %{EMAILLOCALPART}@%{HOSTNAME}\n" +
		"HTTPDUSER %{EMAILADDRESS}|%{USER}\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	l := NewLibrary()
	if err := l.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	p, err := l.Compile(`user=%{EMAILADDRESS:e} by %{HTTPDUSER:u}`)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("login user=ops.team+alerts@example.com by root")
	caps := make([]int, 2*len(p.Fields()))
	if !p.NewMatcher().Match(line, caps) {
		t.Fatalf("%s does not match %q", p.Expr(), line)
	}
	if got := string(line[caps[0]:caps[1]]); got != "ops.team+alerts@example.com" {
		t.Errorf("e = %q", got)
	}
	if got := string(line[caps[2]:caps[3]]); got != "root" {
		t.Errorf("u = %q", got)
	}
}
