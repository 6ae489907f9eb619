package config

import (
	"errors"
	"strings"
	"testing"
)

func TestColumnOf(t *testing.T) {
	tests := []struct {
		name  string
		match string // the lines after "rules:\n  - name: a\n", or a whole file
		value string // expected decoded match, to keep the table honest
		off   int
		col   int // 0: want ok == false
	}{
		{"plain start", "    match: ab%{X}\n", "ab%{X}", 0, 12},
		{"plain middle", "    match: ab%{X}\n", "ab%{X}", 2, 14},
		{"plain end", "    match: ab%{X}\n", "ab%{X}", 6, 18},
		{"plain with comment", "    match: abc # note\n", "abc", 3, 15},
		{"plain multibyte", "    match: é%{X}\n", "é%{X}", 2, 13},
		{"plain inside multibyte", "    match: é%{X}\n", "é%{X}", 1, 12},
		{"single quoted start", "    match: 'it''s %{X}'\n", "it's %{X}", 0, 13},
		{"single quoted escaped quote", "    match: 'it''s %{X}'\n", "it's %{X}", 2, 15},
		{"single quoted after escape", "    match: 'it''s %{X}'\n", "it's %{X}", 3, 17},
		{"single quoted end", "    match: 'it''s %{X}'\n", "it's %{X}", 9, 23},
		{"double quoted quote escape", `    match: "a\"b\\c\x41é%{X}"` + "\n", "a\"b\\cAé%{X}", 1, 14},
		{"double quoted backslash escape", `    match: "a\"b\\c\x41é%{X}"` + "\n", "a\"b\\cAé%{X}", 3, 17},
		{"double quoted after escapes", `    match: "a\"b\\c\x41é%{X}"` + "\n", "a\"b\\cAé%{X}", 4, 19},
		{"double quoted hex escape", `    match: "a\"b\\c\x41é%{X}"` + "\n", "a\"b\\cAé%{X}", 5, 20},
		{"double quoted multibyte", `    match: "a\"b\\c\x41é%{X}"` + "\n", "a\"b\\cAé%{X}", 7, 24},
		{"double quoted after multibyte", `    match: "a\"b\\c\x41é%{X}"` + "\n", "a\"b\\cAé%{X}", 8, 25},
		{"double quoted unicode escape", `    match: "\u00e9x"` + "\n", "éx", 2, 19},
		{"tagged", "    match: !!str 'x%{Y}'\n", "x%{Y}", 1, 20},
		{"anchored", "    match: &m x%{Y}\n", "x%{Y}", 1, 16},
		{"flow mapping", "rules:\n  - {name: a, match: 'x y'}\n", "x y", 2, 25},
		{"CRLF line ends", "rules:\r\n  - name: a\r\n    match: 'x'\r\n", "x", 0, 13},
		{"after NEL line break", "rules:\n  - name: a\n    metrics: [] # \u0085\n    match: 'x'\n", "x", 0, 13},
		{"negative offset", "    match: abc\n", "abc", -1, 0},
		{"offset past end", "    match: abc\n", "abc", 4, 0},
		{"literal block", "    match: |-\n      abc\n", "abc", 1, 0},
		{"folded block", "    match: >-\n      abc\n", "abc", 1, 0},
		{"multi-line plain", "    match: abc\n      def\n", "abc def", 1, 0},
		{"multi-line single quoted", "    match: 'abc\n      def'\n", "abc def", 1, 0},
		{"multi-line double quoted", "    match: \"abc\\\n      def\"\n", "abcdef", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.match
			if !strings.HasPrefix(data, "rules:") {
				data = "rules:\n  - name: a\n" + data
			}
			rf, probs := ParseRuleFile("c.yaml", []byte(data))
			if len(probs) > 0 {
				t.Fatalf("unexpected problems:\n%v", probs)
			}
			m := rf.Rules[0].Match
			if m.Value != tt.value {
				t.Fatalf("match = %q, want %q", m.Value, tt.value)
			}
			pos, ok := m.ColumnOf(tt.off)
			if tt.col == 0 {
				if ok {
					t.Errorf("ColumnOf(%d) = %v, want ok == false", tt.off, pos)
				}
				return
			}
			if want := (Pos{File: "c.yaml", Line: m.Pos.Line, Col: tt.col}); !ok || pos != want {
				t.Errorf("ColumnOf(%d) = %v, %t; want %v", tt.off, pos, ok, want)
			}
		})
	}
}

func TestColumnOfUnknown(t *testing.T) {
	s := String{Value: "abc", Pos: Pos{"x.yaml", 1, 1}}
	if pos, ok := s.ColumnOf(0); ok {
		t.Errorf("String built in code: ColumnOf(0) = %v, want ok == false", pos)
	}
}

func TestPosString(t *testing.T) {
	tests := []struct {
		pos  Pos
		want string
	}{
		{Pos{"r.yaml", 3, 7}, "r.yaml:3:7"},
		{Pos{"r.yaml", 3, 0}, "r.yaml:3"},
		{Pos{"r.yaml", 0, 0}, "r.yaml"},
	}
	for _, tt := range tests {
		if got := tt.pos.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.pos, got, tt.want)
		}
	}
}

func TestProblems(t *testing.T) {
	ps := Problems{
		{Pos{"b.yaml", 1, 1}, "four"},
		{Pos{"a.yaml", 10, 1}, "three"},
		{Pos{"a.yaml", 2, 5}, "two"},
		{Pos{"a.yaml", 2, 3}, "one"},
		{Pos{"a.yaml", 2, 5}, "two, later"},
	}
	ps.Sort()
	want := "a.yaml:2:3: one\na.yaml:2:5: two\na.yaml:2:5: two, later\na.yaml:10:1: three\nb.yaml:1:1: four"
	if got := ps.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	var target Problems
	if err := ps.Err(); !errors.As(err, &target) || len(target) != 5 {
		t.Errorf("Err() = %v, want the problems", err)
	}
	if err := (Problems{}).Err(); err != nil {
		t.Errorf("empty Err() = %v, want nil", err)
	}
}
