package config

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Pos is a place in a configuration file. Line and Col are 1-based; Col
// counts characters, as the YAML parser does.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats p as "file:line:col", leaving out parts that are unknown.
func (p Pos) String() string {
	switch {
	case p.Line <= 0:
		return p.File
	case p.Col <= 0:
		return p.File + ":" + strconv.Itoa(p.Line)
	default:
		return p.File + ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
	}
}

// String is a scalar from a configuration file together with its position
// (that of the value node, including any tag or anchor in front of it).
type String struct {
	Value string
	Pos   Pos

	// src is the source text of a one-line plain or quoted scalar, quotes
	// included, starting at column srcCol; it is verified at decode time to
	// decode to Value. Empty when the mapping is unknown (block scalars,
	// multi-line scalars, values built in code).
	src    string
	srcCol int
}

// ColumnOf returns the position in the file of the character that produced
// byte offset off of s.Value, so that callers compiling s.Value can point
// at the exact column of a problem. off == len(s.Value) maps to just after
// the last character. ok is false when the mapping is unknown: block or
// multi-line scalars, Strings not decoded from a file, or off out of range.
func (s String) ColumnOf(off int) (Pos, bool) {
	if s.src == "" || off < 0 || off > len(s.Value) {
		return Pos{}, false
	}
	units, end, ok := scalarUnits(s.src, s.srcCol)
	if !ok {
		return Pos{}, false
	}
	at := func(col int) (Pos, bool) { return Pos{File: s.Pos.File, Line: s.Pos.Line, Col: col}, true }
	n := 0
	for _, u := range units {
		if off < n+u.size { // also an offset inside one multi-byte character
			return at(u.col)
		}
		n += u.size
	}
	if off == n {
		return at(end)
	}
	return Pos{}, false
}

// unit is one decoded character: its size in bytes of the decoded value and
// the column of the source text that produced it.
type unit struct{ size, col int }

// scalarUnits splits the one-line scalar src into decoded characters. end is
// the column of the closing quote, or just after a plain scalar.
func scalarUnits(src string, col0 int) (units []unit, end int, ok bool) {
	if src == "" {
		return nil, col0, true
	}
	col := col0
	switch src[0] {
	case '\'':
		col++
		for i := 1; i < len(src); {
			r, w := utf8.DecodeRuneInString(src[i:])
			if r == '\'' {
				if i+1 < len(src) && src[i+1] == '\'' {
					units = append(units, unit{1, col})
					i += 2
					col += 2
					continue
				}
				return units, col, i == len(src)-1
			}
			units = append(units, unit{w, col})
			i += w
			col++
		}
		return nil, 0, false
	case '"':
		col++
		for i := 1; i < len(src); {
			r, w := utf8.DecodeRuneInString(src[i:])
			switch r {
			case '"':
				return units, col, i == len(src)-1
			case '\\':
				dec, srcLen, ok := unescape(src[i:])
				if !ok {
					return nil, 0, false
				}
				units = append(units, unit{utf8.RuneLen(dec), col})
				i += srcLen
				col += srcLen // escapes are ASCII, one column per byte
				continue
			}
			units = append(units, unit{w, col})
			i += w
			col++
		}
		return nil, 0, false
	default:
		for i := 0; i < len(src); {
			_, w := utf8.DecodeRuneInString(src[i:])
			units = append(units, unit{w, col})
			i += w
			col++
		}
		return units, col, true
	}
}

// decodeScalar returns the value the one-line scalar src stands for.
func decodeScalar(src string) (string, bool) {
	var b strings.Builder
	switch {
	case src == "":
		return "", true
	case src[0] == '\'':
		if len(src) < 2 || src[len(src)-1] != '\'' {
			return "", false
		}
		return strings.ReplaceAll(src[1:len(src)-1], "''", "'"), true
	case src[0] == '"':
		if len(src) < 2 || src[len(src)-1] != '"' {
			return "", false
		}
		body := src[1 : len(src)-1]
		for i := 0; i < len(body); {
			if body[i] != '\\' {
				b.WriteByte(body[i])
				i++
				continue
			}
			r, n, ok := unescape(body[i:])
			if !ok {
				return "", false
			}
			b.WriteRune(r)
			i += n
		}
		return b.String(), true
	default:
		return src, true
	}
}

// unescape decodes the double-quoted escape sequence at the start of s
// (which begins with a backslash) and returns the character and the number
// of source bytes it took.
func unescape(s string) (rune, int, bool) {
	if len(s) < 2 {
		return 0, 0, false
	}
	var digits int
	switch s[1] {
	case '0':
		return 0, 2, true
	case 'a':
		return '\a', 2, true
	case 'b':
		return '\b', 2, true
	case 't', '\t':
		return '\t', 2, true
	case 'n':
		return '\n', 2, true
	case 'v':
		return '\v', 2, true
	case 'f':
		return '\f', 2, true
	case 'r':
		return '\r', 2, true
	case 'e':
		return 0x1b, 2, true
	case ' ', '"', '\'', '/', '\\':
		return rune(s[1]), 2, true
	case 'N':
		return 0x85, 2, true
	case '_':
		return 0xa0, 2, true
	case 'L':
		return 0x2028, 2, true
	case 'P':
		return 0x2029, 2, true
	case 'x':
		digits = 2
	case 'u':
		digits = 4
	case 'U':
		digits = 8
	}
	if digits == 0 || len(s) < 2+digits {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(s[2:2+digits], 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return 0, 0, false
	}
	return rune(v), 2 + digits, true
}
