package match

//go:generate go run ../../internal/genpatterns -out patterns

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
)

// builtinFS holds the generated pattern files: vjeantet/grok v1.0.1's set
// with logmeter's overrides (see internal/genpatterns).
//
//go:embed patterns
var builtinFS embed.FS

// defaultPatternFile is vjeantet's compiled-in map. It loads after the other
// files so that, where it and the older copy in grok-patterns disagree, the
// set vjeantet/grok uses by default wins.
const defaultPatternFile = "default"

// Definition is one named grok pattern.
type Definition struct {
	Name string
	Expr string
	// File, Line and Col locate the start of Expr (1-based; Col in bytes).
	// Built-in definitions use File "builtin/<file>".
	File      string
	Line, Col int
	// Locate, when set, maps a byte offset of Expr to its line and column;
	// it serves definitions taken from quoted YAML strings, where escapes
	// make columns and offsets differ.
	Locate func(offset int) (line, col int, ok bool)
}

// Library is a set of named grok patterns. Build it with NewLibrary, Define
// and LoadFile, then share it: Lookup, Names and Expand may run concurrently,
// Define and LoadFile may not run alongside any other method.
type Library struct {
	defs map[string]*entry
}

// entry memoises the translation of one definition; it never changes after
// Define, so clones share it.
type entry struct {
	def   Definition
	once  sync.Once
	nodes []node
	err   *syntaxError
}

func (e *entry) translated() ([]node, *syntaxError) {
	e.once.Do(func() { e.nodes, e.err = translate(e.def.Expr) })
	return e.nodes, e.err
}

// NewLibrary returns a library holding the built-in patterns. Files load in
// name order, "default" last; a name defined again replaces the earlier
// definition, within a file as across files, as Logstash does.
func NewLibrary() *Library {
	l := &Library{defs: make(map[string]*entry, 512)}
	names, err := builtinFiles()
	if err != nil {
		panic(err) // the embedded data is checked by the tests
	}
	for _, n := range names {
		data, err := builtinFS.ReadFile(path.Join("patterns", n))
		if err != nil {
			panic(err)
		}
		defs, err := ParsePatterns("builtin/"+n, data)
		if err != nil {
			panic(err)
		}
		for _, d := range defs {
			l.Define(d)
		}
	}
	return l
}

// builtinFiles returns the embedded pattern files in load order.
func builtinFiles() ([]string, error) {
	entries, err := fs.ReadDir(builtinFS, "patterns")
	if err != nil {
		return nil, fmt.Errorf("read built-in patterns: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && e.Name() != defaultPatternFile {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return append(names, defaultPatternFile), nil
}

// Clone returns an independent copy; defining into it leaves l unchanged.
func (l *Library) Clone() *Library {
	c := &Library{defs: make(map[string]*entry, len(l.defs))}
	for k, v := range l.defs {
		c.defs[k] = v
	}
	return c
}

// Define adds d, replacing any definition of the same name.
func (l *Library) Define(d Definition) {
	l.defs[d.Name] = &entry{def: d}
}

// LoadFile defines the patterns of a Logstash-format pattern file. Nothing
// is defined when the file has an error.
func (l *Library) LoadFile(name string) error {
	data, err := readPatternFile(name)
	if err != nil {
		return err
	}
	// The good lines are defined even when others are bad, so that one
	// typo does not turn every pattern of the file into "unknown pattern".
	defs, err := ParsePatterns(name, data)
	for _, d := range defs {
		l.Define(d)
	}
	return err
}

// maxPatternFileBytes bounds a pattern file: Logstash's largest is a few
// tens of KiB, and a path such as /dev/zero must not exhaust memory.
const maxPatternFileBytes = 16 << 20

// readPatternFile reads a regular file of at most maxPatternFileBytes.
func readPatternFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read pattern file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read pattern file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read pattern file: %s is not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPatternFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read pattern file: %w", err)
	}
	if len(data) > maxPatternFileBytes {
		return nil, fmt.Errorf("read pattern file: %s is larger than %d MiB", name, maxPatternFileBytes>>20)
	}
	return data, nil
}

// Lookup returns the definition in effect for name.
func (l *Library) Lookup(name string) (Definition, bool) {
	e, ok := l.defs[name]
	if !ok {
		return Definition{}, false
	}
	return e.def, true
}

// Names returns the defined names, sorted.
func (l *Library) Names() []string {
	names := make([]string, 0, len(l.defs))
	for n := range l.defs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseError is a problem in a pattern file.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// ParsePatterns reads a Logstash-format pattern file: one "NAME regex" per
// line, NAME and regex separated by spaces or tabs, '#' starting a comment
// line. The regex runs to the end of the line, trailing blanks included,
// as Logstash reads it. All bad lines are reported, each as a *ParseError.
func ParsePatterns(file string, data []byte) ([]Definition, error) {
	text := strings.TrimPrefix(string(data), "\uFEFF")
	var defs []Definition
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		start := len(line) - len(strings.TrimLeft(line, " \t"))
		if start == len(line) || line[start] == '#' {
			continue
		}
		end := start
		for end < len(line) && line[end] != ' ' && line[end] != '\t' {
			end++
		}
		name := line[start:end]
		if j := invalidNameChar(name); j >= 0 {
			errs = append(errs, &ParseError{file, i + 1, start + j + 1, fmt.Sprintf("invalid pattern name %q", name)})
			continue
		}
		exprAt := end
		for exprAt < len(line) && (line[exprAt] == ' ' || line[exprAt] == '\t') {
			exprAt++
		}
		if exprAt == len(line) {
			errs = append(errs, &ParseError{file, i + 1, exprAt + 1, fmt.Sprintf("pattern %s has no regex", name)})
			continue
		}
		defs = append(defs, Definition{Name: name, Expr: line[exprAt:], File: file, Line: i + 1, Col: exprAt + 1})
	}
	if len(errs) > 0 {
		return defs, errors.Join(errs...)
	}
	return defs, nil
}

// invalidNameChar returns the offset of the first character not allowed in
// a pattern name, or -1. Names are what %{...} can refer to.
func invalidNameChar(name string) int {
	for i := 0; i < len(name); i++ {
		if !isNameChar(name[i]) || (i == 0 && (name[i] == '-' || name[i] == '.')) {
			return i
		}
	}
	return -1
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}
