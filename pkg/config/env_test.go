package config

import (
	"reflect"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	env := envMap(map[string]string{"A": "alpha", "B": "b", "EMPTY": "", "DOLLAR": "$B"})
	tests := []struct {
		in      string
		want    string
		vars    []string
		wantErr string
	}{
		{"plain", "plain", nil, ""},
		{"${A}", "alpha", []string{"A"}, ""},
		{"x${A}y${B}z${A}", "xalphaybzalpha", []string{"A", "B"}, ""},
		{"${UNSET}", "", []string{"UNSET"}, ""},
		{"${UNSET:-def}", "def", []string{"UNSET"}, ""},
		{"${EMPTY:-def}", "def", []string{"EMPTY"}, ""},
		{"${A:-def}", "alpha", []string{"A"}, ""},
		{"${UNSET:-}", "", []string{"UNSET"}, ""},
		{"${UNSET:-a:b-c $x}", "a:b-c $x", []string{"UNSET"}, ""}, // defaults are literal
		{"${A:?must be set}", "alpha", []string{"A"}, ""},
		{"${DOLLAR}", "$B", []string{"DOLLAR"}, ""}, // values are not expanded again
		{"$$", "$", nil, ""},
		{"$${A}", "${A}", nil, ""},
		{"$$$${A}", "$${A}", nil, ""},
		{"$$${A}", "$alpha", []string{"A"}, ""},
		{"^a$", "^a$", nil, ""},
		{"$A $ $1 a$", "$A $ $1 a$", nil, ""},
		{"${UNSET:?set it}", "", []string{"UNSET"}, "environment variable UNSET is required but not set: set it"},
		{"${EMPTY:?}", "", []string{"EMPTY"}, "environment variable EMPTY is required but not set"},
		{"${A", "", nil, "unterminated ${ (write $$ for a literal $)"},
		{"${}", "", nil, "invalid environment reference ${}: the variable name must match ^[A-Za-z_][A-Za-z0-9_]*$"},
		{"${A B}", "", nil, "invalid environment reference ${A B}: the variable name must match ^[A-Za-z_][A-Za-z0-9_]*$"},
		{"${A:+x}", "", nil, "invalid environment reference ${A:+x}: want ${A}, ${A:-default} or ${A:?message}"},
		{"${A:}", "", nil, "invalid environment reference ${A:}: want ${A}, ${A:-default} or ${A:?message}"},
	}
	for _, tt := range tests {
		got, vars, err := expandEnv(tt.in, env)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
			got = ""
		}
		if got != tt.want || gotErr != tt.wantErr || !reflect.DeepEqual(vars, tt.vars) {
			t.Errorf("expandEnv(%q) = %q, %q, %v; want %q, %q, %q", tt.in, got, vars, err, tt.want, tt.vars, tt.wantErr)
		}
	}
}
