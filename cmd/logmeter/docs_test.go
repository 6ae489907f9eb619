package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/logmeter/logmeter/pkg/config"
)

// docBlock is a fenced code block of a Markdown file.
type docBlock struct {
	section string // the "## " heading above the block
	lang    string // the info string: yaml, text, sh...
	body    string
	line    int // of the opening fence
}

// docBlocks returns the fenced code blocks of docs/rules.md.
func docBlocks(t *testing.T) []docBlock {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "rules.md"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		blocks  []docBlock
		cur     *docBlock
		section string
		body    strings.Builder
	)
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &docBlock{section: section, lang: strings.TrimPrefix(line, "```"), line: i + 1}
			body.Reset()
		case cur != nil && line == "```":
			cur.body = body.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		case strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
		}
	}
	if cur != nil {
		t.Fatalf("docs/rules.md:%d: code block not closed", cur.line)
	}
	return blocks
}

// docFileName returns NAME when a block starts with the line "# NAME",
// which names the file the block shows.
func docFileName(b docBlock) (string, bool) {
	first, _, _ := strings.Cut(b.body, "\n")
	name, ok := strings.CutPrefix(first, "# ")
	if !ok || name == "" || strings.ContainsAny(name, " \t") || !strings.ContainsAny(name, "./") {
		return "", false
	}
	return name, true
}

// TestDocsCommonMistakes runs "logmeter check" on every rule file of the
// Common mistakes section of docs/rules.md and requires exactly the
// messages the text block below it shows, so the guide cannot drift from
// the checker.
func TestDocsCommonMistakes(t *testing.T) {
	blocks := docBlocks(t)
	pairs := 0
	for i, b := range blocks {
		if b.section != "Common mistakes" {
			continue
		}
		switch b.lang {
		case "yaml":
			if i+1 >= len(blocks) || blocks[i+1].lang != "text" || blocks[i+1].section != b.section {
				t.Errorf("docs/rules.md:%d: a rule file without the messages below it", b.line)
				continue
			}
			pairs++
			want := lines(blocks[i+1].body)
			t.Run(want[0], func(t *testing.T) {
				dir := t.TempDir()
				writeFiles(t, dir, map[string]string{"rules.yaml": b.body})
				t.Chdir(dir)
				stdout, stderr, code := runTest(t, "check", "--rules", "rules.yaml")
				if code != 1 || stdout != "" {
					t.Errorf("docs/rules.md:%d: exit %d, stdout %q; want 1 and nothing", b.line, code, stdout)
				}
				if got := lines(stderr); !reflect.DeepEqual(got, want) {
					t.Errorf("docs/rules.md:%d: logmeter check prints\n%s\nbut the guide shows\n%s", b.line, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		case "text":
			if i == 0 || blocks[i-1].lang != "yaml" || blocks[i-1].section != b.section {
				t.Errorf("docs/rules.md:%d: messages without a rule file above them", b.line)
			}
		default:
			t.Errorf("docs/rules.md:%d: unexpected %q block in Common mistakes", b.line, b.lang)
		}
	}
	if pairs < 30 {
		t.Errorf("found %d examples in Common mistakes; the section or its format changed", pairs)
	}
}

// TestDocsExamples checks the other examples of docs/rules.md: complete
// rule files are valid, test files parse, the files it names (NAME.yaml,
// NAME_test.yaml, pattern files) work together, and the output shown for
// "$ logmeter ..." commands is what they print.
func TestDocsExamples(t *testing.T) {
	blocks := docBlocks(t)
	named := map[string]string{}
	for _, b := range blocks {
		if b.section == "Common mistakes" {
			continue
		}
		if name, ok := docFileName(b); ok {
			named[filepath.Join("rules", name)] = b.body
			continue
		}
		if b.lang != "yaml" {
			continue
		}
		var top map[string]any
		if err := yaml.Unmarshal([]byte(b.body), &top); err != nil {
			t.Errorf("docs/rules.md:%d: %v", b.line, err)
			continue
		}
		switch {
		case top["tests"] != nil:
			if _, probs := config.ParseRuleTestFile("example_test.yaml", []byte(b.body)); len(probs) > 0 {
				t.Errorf("docs/rules.md:%d: test file example:\n%v", b.line, probs)
			}
		case top["rules"] != nil || top["patterns"] != nil:
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"rules.yaml": b.body})
			if stdout, stderr, code := runTest(t, "check", "--rules", filepath.Join(dir, "rules.yaml")); code != 0 {
				t.Errorf("docs/rules.md:%d: rule file example: exit %d\n%s%s", b.line, code, stdout, stderr)
			}
		}
	}
	if len(named) < 4 {
		t.Fatalf("found %d named example files; the guide's format changed", len(named))
	}

	dir := t.TempDir()
	writeFiles(t, dir, named)
	t.Chdir(dir)
	for name := range named {
		if filepath.Ext(name) != ".yaml" {
			continue
		}
		args := []string{"check", "--rules", name}
		if config.IsRuleTestFile(name) {
			args = []string{"test", name}
		}
		if stdout, stderr, code := runTest(t, args...); code != 0 {
			t.Errorf("logmeter %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	commands := 0
	for _, b := range blocks {
		first, rest, _ := strings.Cut(b.body, "\n")
		cmd, ok := strings.CutPrefix(first, "$ logmeter ")
		if b.lang != "text" || !ok {
			continue
		}
		commands++
		stdout, stderr, _ := runTest(t, strings.Fields(cmd)...)
		if got, want := lines(stdout), lines(rest); !reflect.DeepEqual(got, want) {
			t.Errorf("docs/rules.md:%d: logmeter %s prints\n%s%s\nbut the guide shows\n%s", b.line, cmd, stdout, stderr, rest)
		}
	}
	if commands == 0 {
		t.Error("no command output to compare in docs/rules.md")
	}
}
