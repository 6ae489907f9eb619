package match

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParsePatterns(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []Definition
		err  string
	}{
		{
			name: "comments blanks tabs and crlf",
			data: "# header\n\nFOO [a-z]+\r\n  BAR\t\t%{FOO} \n\t# indented comment\nBAZ.qux-1 x\n",
			want: []Definition{
				{Name: "FOO", Expr: "[a-z]+", File: "f", Line: 3, Col: 5},
				{Name: "BAR", Expr: "%{FOO} ", File: "f", Line: 4, Col: 8},
				{Name: "BAZ.qux-1", Expr: "x", File: "f", Line: 6, Col: 11},
			},
		},
		{name: "byte order mark", data: "\uFEFFA b", want: []Definition{{Name: "A", Expr: "b", File: "f", Line: 1, Col: 3}}},
		{name: "empty file", data: ""},
		{name: "missing regex", data: "OK x\nFOO\n", err: "f:2:4: pattern FOO has no regex"},
		{name: "missing regex after blanks", data: "FOO \t \n", err: "f:1:7: pattern FOO has no regex"},
		{name: "invalid name", data: "FO/O x\n", err: `f:1:3: invalid pattern name "FO/O"`},
		{name: "name starting with a dash", data: "  -X y", err: `f:1:3: invalid pattern name "-X"`},
		{name: "all bad lines", data: "A\nB!C d\n", err: "f:1:2: pattern A has no regex\nf:2:2: invalid pattern name \"B!C\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePatterns("f", []byte(tt.data))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestBuiltinDefinitions(t *testing.T) {
	l := NewLibrary()
	tests := []struct {
		name, file, exprPrefix string
	}{
		// vjeantet's map (builtin/default) wins over the older grok-patterns copy.
		{"TZ", "builtin/default", `(?:[PMCE][SD]T|UTC)`},
		{"LOGLEVEL", "builtin/default", `([Aa]lert|`},
		{"TIME", "builtin/default", `(?<![0-9])%{HOUR}:%{MINUTE}(?::%{SECOND})(?![0-9])`},
		{"BASE16FLOAT", "builtin/default", `\b(?<![0-9A-Fa-f.])`},
		{"IPV4", "builtin/default", `(?<![0-9])`},
		// The second definition in java replaces the first.
		{"JAVACLASS", "builtin/java", `(?:[a-zA-Z0-9-]+\.)+`},
		{"MCOLLECTIVEAUDIT", "builtin/mcollective-patterns", `%{TIMESTAMP_ISO8601:timestamp}:`},
		{"HAPROXYTIME", "builtin/haproxy", `(?<![0-9])%{HOUR:haproxy_hour}`},
		{"NAGIOSLOGLINE", "builtin/nagios", `%{NAGIOSTIME} (?:`},
		{"COMMONENVOYACCESSLOG", "builtin/default", `\[%{TIMESTAMP_ISO8601:timestamp}\]`},
	}
	for _, tt := range tests {
		d, ok := l.Lookup(tt.name)
		if !ok {
			t.Errorf("%s not defined", tt.name)
			continue
		}
		if d.File != tt.file || !strings.HasPrefix(d.Expr, tt.exprPrefix) || d.Line == 0 || d.Col != len(tt.name)+2 {
			t.Errorf("%s = %+v, want file %s, expr starting %q", tt.name, d, tt.file, tt.exprPrefix)
		}
	}
	if n := len(l.Names()); n < 300 {
		t.Errorf("%d built-in names, want the whole vjeantet set (> 300)", n)
	}
}

func TestBuiltinFileHeaders(t *testing.T) {
	names, err := builtinFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 19 || names[len(names)-1] != defaultPatternFile {
		t.Fatalf("files = %v, want vjeantet's 18 files then %s", names, defaultPatternFile)
	}
	for _, n := range names {
		data, err := fs.ReadFile(builtinFS, path.Join("patterns", n))
		if err != nil {
			t.Fatal(err)
		}
		head := string(data[:min(len(data), 400)])
		for _, want := range []string{"DO NOT EDIT", "github.com/vjeantet/grok v1.0.1", "logstash-patterns-core", "Apache License 2.0"} {
			if !strings.Contains(head, want) {
				t.Errorf("%s: header lacks %q", n, want)
			}
		}
	}
}

func TestCloneDefineLookup(t *testing.T) {
	base := NewLibrary()
	c := base.Clone()
	c.Define(Definition{Name: "WORD", Expr: "[a-z]+"})
	c.Define(Definition{Name: "MINE", Expr: "%{WORD}"})
	if d, _ := base.Lookup("WORD"); d.Expr != `\b\w+\b` {
		t.Errorf("clone changed the original: WORD = %q", d.Expr)
	}
	if _, ok := base.Lookup("MINE"); ok {
		t.Error("clone's new name visible in the original")
	}
	e, err := c.Expand("%{MINE}")
	if err != nil {
		t.Fatal(err)
	}
	if e.Regexp != "(?:(?:[a-z]+))" {
		t.Errorf("later definition not in effect: %s", e.Regexp)
	}
	names := c.Names()
	if len(names) != len(base.Names())+1 || !sortedStrings(names) {
		t.Errorf("Names not sorted or wrong length")
	}
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(good, []byte("# mine\nUPSTREAM %{IPORHOST}:%{POSINT}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("FIRST x\nSECOND\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := NewLibrary()
	if err := l.LoadFile(good); err != nil {
		t.Fatal(err)
	}
	d, ok := l.Lookup("UPSTREAM")
	if !ok || d.File != good || d.Line != 2 || d.Col != 10 {
		t.Errorf("UPSTREAM = %+v", d)
	}
	err := l.LoadFile(bad)
	if err == nil || err.Error() != bad+":2:7: pattern SECOND has no regex" {
		t.Errorf("error = %v", err)
	}
	if _, ok := l.Lookup("FIRST"); !ok {
		t.Error("the good line of a file with errors was not defined")
	}
	if err := l.LoadFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "read pattern file") {
		t.Errorf("missing file error = %v", err)
	}
}

func BenchmarkNewLibrary(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewLibrary()
	}
}

func TestLoadFileRefusesNonRegularFiles(t *testing.T) {
	for _, name := range []string{t.TempDir(), "/dev/zero"} {
		if _, err := os.Stat(name); err != nil {
			continue
		}
		err := NewLibrary().LoadFile(name)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("LoadFile(%s) = %v, want a not-a-regular-file error", name, err)
		}
	}
}
