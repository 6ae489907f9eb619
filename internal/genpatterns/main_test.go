package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedFilesUpToDate regenerates the built-in pattern files and
// compares them with the committed ones, so a hand edit or a stale
// generation shows up.
func TestGeneratedFilesUpToDate(t *testing.T) {
	src, err := moduleDir()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var report bytes.Buffer
	if err := run(src, out, &report); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "pkg", "match", "patterns")
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 19 {
		t.Errorf("generated %d files, want 18 upstream files and default", len(entries))
	}
	for _, e := range entries {
		want, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(committed, e.Name()))
		if err != nil {
			t.Errorf("%s: %v (run go generate ./pkg/match)", e.Name(), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output (run go generate ./pkg/match)", e.Name())
		}
	}
	for _, want := range []string{
		"duplicate TIME (identical definitions): grok-patterns:69, default:49; in effect: default:49",
		"duplicate TZ (different definitions)",
		"duplicate JAVACLASS (different definitions): java:1, java:10; in effect: java:10",
	} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("duplicate report lacks %q:\n%s", want, report.String())
		}
	}
}

func TestParseFile(t *testing.T) {
	f := parseFile("x", "# c\n\nA  a b \r\n\tB\tb\nC\n")
	want := []def{{"A", "a b ", 2}, {"B", "b", 3}, {"C", "", 4}}
	if len(f.defs) != len(want) {
		t.Fatalf("defs = %+v", f.defs)
	}
	for i := range want {
		if f.defs[i] != want[i] {
			t.Errorf("def %d = %+v, want %+v", i, f.defs[i], want[i])
		}
	}
}

func TestApplyOverrides(t *testing.T) {
	replace := override{name: "T", expr: "new", why: "because"}
	add := override{name: "N", expr: "added", why: "restored", add: true}
	tests := []struct {
		name string
		list []override
		err  string
		want []string // rendered lines of the two files, joined
	}{
		{name: "replaces every copy", list: []override{replace},
			want: []string{"# logmeter override: because\n# vjeantet: T old\nT new", "# logmeter override: because\n# vjeantet: T old\nT new\nU u"}},
		{name: "adds to the last file", list: []override{add},
			want: []string{"T old", "T old\nU u\n# logmeter addition: restored\nN added"}},
		{name: "missing definition", list: []override{{name: "X", expr: "x"}}, err: "override X: no such definition upstream"},
		{name: "addition already defined", list: []override{{name: "U", expr: "x", add: true}}, err: "override U: marked as an addition but defined upstream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := []*file{parseFile("a", "T old\n"), parseFile("default", "T old\nU u\n")}
			err := applyOverrides(files, tt.list)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range files {
				if got := strings.Join(f.lines, "\n"); got != tt.want[i] {
					t.Errorf("file %s:\n%s\nwant\n%s", f.name, got, tt.want[i])
				}
			}
		})
	}
}
