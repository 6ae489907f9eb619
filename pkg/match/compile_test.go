package match

import "testing"

// TestCompileBlamesDefinition: an expanded expression that Go refuses is
// reported at the definition that fails on its own, innermost first; the
// expression keeps the error when every definition compiles alone.
func TestCompileBlamesDefinition(t *testing.T) {
	l := NewLibrary()
	l.Define(Definition{Name: "BAD", Expr: `a{2,1}`, File: "p.grok", Line: 3, Col: 5})
	l.Define(Definition{Name: "OUTER", Expr: `[a-z]+%{BAD}`, File: "p.grok", Line: 4, Col: 7})
	l.Define(Definition{Name: "PAIR", Expr: `[a-z]{2}`, File: "p.grok", Line: 5, Col: 6})
	l.Define(Definition{Name: "NOFILE", Expr: `[z-a]`})
	tests := []struct{ expr, err string }{
		{`x %{BAD:b}`, "p.grok:3:5: pattern BAD: invalid regular expression: invalid repeat count: `{2,1}`"},
		{`%{PAIR} %{OUTER}`, "p.grok:3:5: pattern BAD: invalid regular expression: invalid repeat count: `{2,1}`"},
		{`%{NOFILE}`, "pattern NOFILE: invalid regular expression: invalid character class range: `z-a`"},
		{`(?:%{PAIR}){2,1}`, "invalid regular expression: invalid repeat count: `{2,1}`"},
		{`x{2,1}`, "invalid regular expression: invalid repeat count: `{2,1}`"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := l.Compile(tt.expr)
			if _, ok := err.(*CompileError); !ok || err.Error() != tt.err {
				t.Errorf("error = %v (%T)\nwant    %s", err, err, tt.err)
			}
		})
	}
}
