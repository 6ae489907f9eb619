package match

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxRepeat is regexp/syntax's bound on counted repetition (RE2 has the
// same): no {n,m} may count beyond it, and along any path of repetitions
// nested in one another the counts may not multiply out beyond it either
// (parse.go: the bounds check in parse and repeatIsValid). Oniguruma has no
// such limit, so upstream patterns like logstash-patterns-core's ECS
// EMAILLOCALPART, a {1,62} inside a {0,63}, fail in Go with "invalid repeat
// count".
const maxRepeat = 1000

// relaxRepeats rewrites the counted repetitions of the Go expression s that
// regexp/syntax would refuse, and returns s itself when there are none.
// Repetitions are visited innermost first; one that is over the limit loses
// its upper bound and, only if that is not enough, part of its lower bound:
// {n,m} becomes {n,}, then {k,} with the largest k that fits (* and + for 0
// and 1). Inner bounds are kept. The match set only grows: every text the
// original accepts is still accepted, and a text with more repetitions than
// the original allowed now matches too, which RE2 cannot express otherwise.
func relaxRepeats(s string) string {
	if strings.IndexByte(s, '{') < 0 {
		return s
	}
	// groups holds, for each open group, the largest product of counts on
	// a path through what has been read of it; pending is the same for
	// the atom just read (0: none), which a quantifier may still follow.
	groups := []int{1}
	pending := 0
	commit := func() {
		groups[len(groups)-1] = max(groups[len(groups)-1], pending)
		pending = 0
	}
	type edit struct {
		from, to int
		text     string
	}
	var edits []edit
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '\\':
			commit()
			pending, i = 1, skipEscape(s, i)
		case '[':
			commit()
			pending, i = 1, skipClass(s, i)
		case '(':
			commit()
			next, isGroup := groupBody(s, i)
			if isGroup {
				groups = append(groups, 1)
			}
			i = next
		case ')':
			commit()
			if len(groups) > 1 {
				pending = groups[len(groups)-1]
				groups = groups[:len(groups)-1]
			}
			i++
		case '|':
			commit()
			i++
		case '*', '+', '?':
			// The count of these is 1 (a lazy '?' comes here with pending 0).
			commit()
			i++
		case '{':
			lo, hi, n := goRepeat(s[i:])
			if n == 0 { // a literal brace
				commit()
				pending, i = 1, i+1
				continue
			}
			w, text := relaxRepeat(lo, hi, pending)
			if text != "" {
				edits = append(edits, edit{i, i + n, text})
			}
			pending = w
			commit()
			i += n
		default:
			commit()
			_, size := utf8.DecodeRuneInString(s[i:])
			pending, i = 1, i+size
		}
	}
	if len(edits) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	at := 0
	for _, e := range edits {
		b.WriteString(s[at:e.from])
		b.WriteString(e.text)
		at = e.to
	}
	b.WriteString(s[at:])
	return b.String()
}

// relaxRepeat decides on one repetition {lo,hi} (hi -1: unbounded) of an
// atom whose own nested counts multiply out to inner. It returns the
// product of counts the repetition contributes and its replacement, "" to
// keep it.
func relaxRepeat(lo, hi, inner int) (int, string) {
	switch {
	case inner == 0: // nothing to repeat: Go reports it
		return 0, ""
	case hi == 0: // x{0}: Go does not look inside
		return 1, ""
	case hi > 0 && lo > hi: // Go reports it
		return inner, ""
	}
	count := hi
	if hi < 0 {
		count = lo
	}
	count = max(count, 1)
	if lo <= maxRepeat && hi <= maxRepeat && count <= maxRepeat/inner {
		return count * inner, ""
	}
	// Inner counts were relaxed first, so inner <= maxRepeat and k >= 1.
	k := min(lo, maxRepeat/inner)
	switch k {
	case 0:
		return inner, "*"
	case 1:
		return inner, "+"
	}
	return k * inner, "{" + strconv.Itoa(k) + ",}"
}

// goRepeat reads a repetition {n}, {n,} or {n,m} at the start of s as
// regexp/syntax does, and returns its bounds (hi -1: unbounded) and length,
// or length 0 when Go reads the brace as a literal. Counts saturate instead
// of overflowing.
func goRepeat(s string) (lo, hi, n int) {
	i := 1
	number := func() (int, bool) {
		start := i
		v := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if v < 1e9 {
				v = v*10 + int(s[i]-'0')
			}
			i++
		}
		// Go takes a leading zero for a literal brace.
		return v, i > start && (i-start == 1 || s[start] != '0')
	}
	lo, ok := number()
	if !ok || i >= len(s) {
		return 0, 0, 0
	}
	hi = lo
	if s[i] == ',' {
		i++
		if i < len(s) && s[i] == '}' {
			hi = -1
		} else if hi, ok = number(); !ok {
			return 0, 0, 0
		}
	}
	if i >= len(s) || s[i] != '}' {
		return 0, 0, 0
	}
	return lo, hi, i + 1
}

// skipEscape returns the offset after the escape sequence at s[i] ('\').
func skipEscape(s string, i int) int {
	i++
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case 'Q':
		if end := strings.Index(s[i:], `\E`); end >= 0 {
			return i + end + 2
		}
		return len(s)
	case 'x', 'p', 'P':
		if i+1 < len(s) && s[i+1] == '{' {
			if end := strings.IndexByte(s[i:], '}'); end >= 0 {
				return i + end + 1
			}
		}
		if s[i] == 'x' {
			return min(i+3, len(s))
		}
		return min(i+2, len(s))
	}
	_, size := utf8.DecodeRuneInString(s[i:])
	return i + size
}

// skipClass returns the offset after the character class at s[i] ('[').
// As in Go, a ']' first in the class is a literal.
func skipClass(s string, i int) int {
	i++
	if i < len(s) && s[i] == '^' {
		i++
	}
	for first := true; i < len(s); first = false {
		switch {
		case s[i] == ']' && !first:
			return i + 1
		case s[i] == '\\':
			i = skipEscape(s, i)
		case strings.HasPrefix(s[i:], "[:"):
			if end := strings.Index(s[i+2:], ":]"); end >= 0 {
				i += end + 4
				continue
			}
			i++
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		}
	}
	return i
}

// groupBody reads the opening of a group at s[i] ('('): it returns the
// offset of the group's body, or, for a bare flag setting such as (?i),
// the offset after it and false.
func groupBody(s string, i int) (int, bool) {
	if !strings.HasPrefix(s[i:], "(?") {
		return i + 1, true
	}
	j := i + 2
	if j < len(s) && (s[j] == '<' || s[j] == 'P' && j+1 < len(s) && s[j+1] == '<') {
		if end := strings.IndexByte(s[j:], '>'); end >= 0 {
			return j + end + 1, true
		}
		return j, true
	}
	for j < len(s) && s[j] != ':' && s[j] != ')' {
		j++
	}
	if j < len(s) && s[j] == ')' {
		return j + 1, false
	}
	return j + 1, true
}
