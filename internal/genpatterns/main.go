// Command genpatterns writes logmeter's built-in grok pattern files.
//
// It reads the pattern set that github.com/vjeantet/grok v1.0.1 ships (the
// map in its patterns.go and every file of its patterns/ directory) from the
// module cache, applies logmeter's overrides and writes Logstash-format files
// into the output directory, one per source file; the map becomes "default".
// It reports names defined more than once on stderr.
//
// Usage (from pkg/match, see the go:generate line in library.go):
//
//	go run ../../internal/genpatterns -out patterns
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	// The pattern data is read from this module's directory; importing it
	// keeps it (at the pinned version) in go.mod and the module cache.
	_ "github.com/vjeantet/grok"
)

const (
	module  = "github.com/vjeantet/grok"
	version = "v1.0.1"
	// defaultFile holds vjeantet's compiled-in map; logmeter loads it last.
	defaultFile = "default"
)

// override replaces a definition wherever it appears, or adds it when add is
// set. The list is small on purpose: only definitions where vjeantet's RE2
// rewrite departs from Logstash semantics and a lookaround states the intent.
type override struct {
	name, expr, why string
	add             bool
}

var overrides = []override{
	{
		name: "TIME",
		expr: `(?<![0-9])%{HOUR}:%{MINUTE}(?::%{SECOND})(?![0-9])`,
		why:  "vjeantet's ([^0-9]?) guards consume the neighbouring character; Logstash asserts no digit around",
	},
	{
		name: "HAPROXYTIME",
		expr: `(?<![0-9])%{HOUR:haproxy_hour}:%{MINUTE:haproxy_minute}(?::%{SECOND:haproxy_second})(?![0-9])`,
		why:  "upstream's (?!<[0-9]) is a typo that asserts nothing; the intent is no digit before",
	},
	{
		name: "BASE10NUM",
		expr: `(?<![0-9.+-])(?>[+-]?(?:(?:[0-9]+(?:\.[0-9]+)?)|(?:\.[0-9]+)))`,
		why:  "Logstash does not start a number inside another number; vjeantet dropped the lookbehind",
	},
	{
		name: "BASE16NUM",
		expr: `(?<![0-9A-Fa-f])(?:[+-]?(?:0x)?(?:[0-9A-Fa-f]+))`,
		why:  "vjeantet's rewrite without lookbehind demands a leading 0; Logstash only forbids starting inside a hex number",
	},
	{
		name: "BASE16FLOAT",
		expr: `\b(?<![0-9A-Fa-f.])(?:[+-]?(?:0x)?(?:(?:[0-9A-Fa-f]+(?:\.[0-9A-Fa-f]*)?)|(?:\.[0-9A-Fa-f]+)))\b`,
		why:  "commented out by vjeantet for its lookbehind; restored from Logstash",
		add:  true,
	},
	{
		name: "IPV4",
		expr: `(?<![0-9])(?:(?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]))(?![0-9])`,
		why:  "Logstash does not match an address inside a longer run of digits; vjeantet dropped the lookarounds",
	},
	{
		name: "QUOTEDSTRING",
		expr: "(?>(?<!\\\\)(?>\"(?>\\\\.|[^\\\\\"]+)+\"|\"\"|(?>'(?>\\\\.|[^\\\\']+)+')|''|(?>`(?>\\\\.|[^\\\\`]+)+`)|``))",
		why:  "Logstash does not start at an escaped quote and also accepts backquotes; vjeantet dropped both",
	},
}

type def struct {
	name, expr string
	line       int
}

type file struct {
	name string
	// lines is the source text line by line; defs point into it.
	lines []string
	defs  []def
}

func main() {
	src := flag.String("src", "", "vjeantet/grok module directory (default: asked from go list)")
	out := flag.String("out", "patterns", "output directory")
	flag.Parse()
	if err := run(*src, *out, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "genpatterns:", err)
		os.Exit(1)
	}
}

func run(src, out string, report io.Writer) error {
	if src == "" {
		var err error
		if src, err = moduleDir(); err != nil {
			return err
		}
	}
	files, err := readSources(src)
	if err != nil {
		return err
	}
	if err := applyOverrides(files, overrides); err != nil {
		return err
	}
	reportDuplicates(report, files)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(out, f.name), render(f), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	return nil
}

func moduleDir() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locate %s: %w", module, err)
	}
	dir := strings.TrimSpace(string(b))
	if dir == "" {
		return "", fmt.Errorf("locate %s: module not in the module cache", module)
	}
	return dir, nil
}

// readSources returns the directory files in name order followed by the map.
func readSources(src string) ([]*file, error) {
	entries, err := os.ReadDir(filepath.Join(src, "patterns"))
	if err != nil {
		return nil, fmt.Errorf("read patterns directory: %w", err)
	}
	var files []*file
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, "patterns", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read pattern file: %w", err)
		}
		files = append(files, parseFile(e.Name(), string(data)))
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	m, err := readMap(filepath.Join(src, "patterns.go"))
	if err != nil {
		return nil, err
	}
	return append(files, m), nil
}

func parseFile(name, data string) *file {
	f := &file{name: name, lines: strings.Split(strings.TrimRight(data, "\n"), "\n")}
	for i, l := range f.lines {
		l = strings.TrimRight(l, "\r")
		f.lines[i] = l
		t := strings.TrimLeft(l, " \t")
		if t == "" || t[0] == '#' {
			continue
		}
		n, e := t, ""
		if j := strings.IndexAny(t, " \t"); j >= 0 {
			n, e = t[:j], strings.TrimLeft(t[j:], " \t")
		}
		f.defs = append(f.defs, def{name: n, expr: e, line: i})
	}
	return f
}

// readMap turns the patterns map literal of patterns.go into a file, keeping
// the source order.
func readMap(path string) (*file, error) {
	fset := token.NewFileSet()
	af, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("parse patterns.go: %w", err)
	}
	f := &file{name: defaultFile}
	var walkErr error
	ast.Inspect(af, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "patterns" || len(vs.Values) != 1 {
			return true
		}
		lit, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			walkErr = errors.New("patterns.go: patterns is not a map literal")
			return false
		}
		for _, el := range lit.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				walkErr = errors.New("patterns.go: unexpected map element")
				return false
			}
			k, err1 := unquote(kv.Key)
			v, err2 := unquote(kv.Value)
			if err := errors.Join(err1, err2); err != nil {
				walkErr = fmt.Errorf("patterns.go:%s: %w", fset.Position(kv.Pos()), err)
				return false
			}
			if strings.ContainsAny(v, "\r\n") {
				walkErr = fmt.Errorf("patterns.go: %s spans lines", k)
				return false
			}
			f.defs = append(f.defs, def{name: k, expr: v, line: len(f.lines)})
			f.lines = append(f.lines, k+" "+v)
		}
		return false
	})
	if walkErr != nil {
		return nil, walkErr
	}
	if len(f.defs) == 0 {
		return nil, errors.New("patterns.go: no patterns map found")
	}
	return f, nil
}

func unquote(e ast.Expr) (string, error) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", errors.New("not a string literal")
	}
	return strconv.Unquote(lit.Value)
}

// applyOverrides rewrites every definition an override names, keeping the
// replaced text as a comment.
func applyOverrides(files []*file, list []override) error {
	for _, o := range list {
		found := false
		for _, f := range files {
			for i, d := range f.defs {
				if d.name != o.name {
					continue
				}
				found = true
				f.lines[d.line] = fmt.Sprintf("# logmeter override: %s\n# vjeantet: %s %s\n%s %s", o.why, d.name, d.expr, o.name, o.expr)
				f.defs[i].expr = o.expr
			}
		}
		switch {
		case found && o.add:
			return fmt.Errorf("override %s: marked as an addition but defined upstream", o.name)
		case !found && !o.add:
			return fmt.Errorf("override %s: no such definition upstream", o.name)
		case !found:
			m := files[len(files)-1]
			m.lines = append(m.lines, fmt.Sprintf("# logmeter addition: %s\n%s %s", o.why, o.name, o.expr))
		}
	}
	return nil
}

// reportDuplicates lists names defined more than once, with upstream line
// numbers. Files load in the order given, so the last one listed wins.
func reportDuplicates(w io.Writer, files []*file) {
	where := map[string][]string{}
	exprs := map[string]map[string]bool{}
	var names []string
	for _, f := range files {
		for _, d := range f.defs {
			if where[d.name] == nil {
				names = append(names, d.name)
				exprs[d.name] = map[string]bool{}
			}
			where[d.name] = append(where[d.name], fmt.Sprintf("%s:%d", f.name, d.line+1))
			exprs[d.name][d.expr] = true
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if len(where[n]) < 2 {
			continue
		}
		same := "different definitions"
		if len(exprs[n]) == 1 {
			same = "identical definitions"
		}
		fmt.Fprintf(w, "duplicate %s (%s): %s; in effect: %s\n", n, same, strings.Join(where[n], ", "), where[n][len(where[n])-1])
	}
}

func render(f *file) []byte {
	var b bytes.Buffer
	origin := "patterns/" + f.name
	if f.name == defaultFile {
		origin = "the patterns map of patterns.go"
	}
	fmt.Fprintf(&b, "# Code generated by logmeter internal/genpatterns; DO NOT EDIT.\n")
	fmt.Fprintf(&b, "# Origin: %s %s, %s.\n", module, version, origin)
	fmt.Fprintf(&b, "# Derived from logstash-patterns-core; both are under the Apache License 2.0.\n")
	fmt.Fprintf(&b, "# Overrides and additions by logmeter are marked below.\n\n")
	for _, l := range f.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
