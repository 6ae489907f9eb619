package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/match"
	"github.com/logmeter/logmeter/pkg/metrics"
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, " ") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// parseFlags parses args, allowing flags after positional arguments
// ("check a.yaml --rules b.yaml"), and turns flag errors into a one-line
// error; --help prints the command's flags on stdout.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(stdout, "usage of logmeter %s:\n", fs.Name())
				fs.SetOutput(stdout)
				fs.PrintDefaults()
				return nil, &exitError{code: 0}
			}
			return nil, &exitError{code: 2, msg: fs.Name() + ": " + err.Error()}
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// expandRulePaths resolves globs and drops repeated files; a path without
// glob characters must exist (LoadRuleFile reports it otherwise). Rule
// unit test files (NAME_test.yaml) are not rule files: they are skipped,
// also when named (an unquoted rules/*.yaml names them), and naming only
// such files is an error.
func expandRulePaths(paths []string) ([]string, error) {
	var out []string
	var testFile string // the first test file named
	seen := map[string]bool{}
	add := func(p string) {
		key := filepath.Clean(p)
		if !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	for _, p := range paths {
		if !strings.ContainsAny(p, "*?[") {
			if config.IsRuleTestFile(p) {
				testFile = cmp.Or(testFile, p)
				continue
			}
			add(p)
			continue
		}
		m, err := globRuleFiles(p)
		if err != nil {
			return nil, fmt.Errorf("rules %q: %w", p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("rules %q: no file matches", p)
		}
		for _, f := range m {
			add(f)
		}
	}
	if len(out) == 0 && testFile != "" {
		return nil, fmt.Errorf("rules %q: a file named *_test.yaml holds rule tests, not rules; run it with: logmeter test %s", testFile, testFile)
	}
	return out, nil
}

// globRuleFiles returns the files glob matches, leaving out rule unit test
// files.
func globRuleFiles(glob string) ([]string, error) {
	m, err := filepath.Glob(glob)
	return slices.DeleteFunc(m, config.IsRuleTestFile), err
}

// loadProgram reads, validates and compiles rule files and reports how many
// files it read. Problems in the files come back as config.Problems (all of
// them: structural ones do not hide pattern or template problems); an
// unreadable file as a plain error.
func loadProgram(paths []string, reg *metrics.Registry, self *metrics.Self) (*metrics.Program, int, error) {
	files, err := expandRulePaths(paths)
	if err != nil {
		return nil, 0, err
	}
	var (
		parsed   []*config.RuleFile
		problems config.Problems
	)
	for _, path := range files {
		rf, err := config.LoadRuleFile(path)
		var ps config.Problems
		if errors.As(err, &ps) {
			problems = append(problems, ps...)
		} else if err != nil {
			return nil, 0, err
		}
		if rf != nil {
			parsed = append(parsed, rf)
		}
	}
	problems = append(problems, config.CheckRuleFiles(parsed)...)
	prog, built := metrics.Build(parsed, match.NewLibrary(), reg, self)
	if len(problems) == 0 {
		if len(built) > 0 {
			return nil, len(files), built
		}
		return prog, len(files), nil
	}
	// The files were only partly decoded: keep the compiler's problems
	// that are not another wording of one already reported on that line.
	reported := map[config.Pos]bool{}
	for _, p := range problems {
		reported[config.Pos{File: p.Pos.File, Line: p.Pos.Line}] = true
	}
	for _, p := range built {
		if p.Pos.File != "" && !reported[config.Pos{File: p.Pos.File, Line: p.Pos.Line}] {
			problems = append(problems, p)
		}
	}
	problems.Sort()
	return nil, len(files), problems
}

// problemsExit prints rule-file problems one per line and turns them into
// exit status 1; any other error is passed on.
func problemsExit(err error, stderr io.Writer) error {
	var ps config.Problems
	if !errors.As(err, &ps) {
		return err
	}
	for _, p := range ps {
		fmt.Fprintln(stderr, p.Error())
	}
	return &exitError{code: 1}
}
