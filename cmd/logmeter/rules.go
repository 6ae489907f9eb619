package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/match"
	"github.com/logmeter/logmeter/pkg/metrics"
)

// stringList is a repeatable flag; each value may also hold several
// comma-separated entries.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}

// expandRulePaths resolves globs; a path without glob characters must exist.
func expandRulePaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if !strings.ContainsAny(p, "*?[") {
			out = append(out, p)
			continue
		}
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("rules %q: %w", p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("rules %q: no file matches", p)
		}
		out = append(out, m...)
	}
	return out, nil
}

// loadProgram reads, validates and compiles rule files. Problems in the
// files come back as config.Problems; an unreadable file as a plain error.
func loadProgram(paths []string, reg *metrics.Registry, self *metrics.Self) (*metrics.Program, error) {
	files, err := expandRulePaths(paths)
	if err != nil {
		return nil, err
	}
	var (
		parsed   []*config.RuleFile
		problems config.Problems
	)
	for _, path := range files {
		rf, err := config.LoadRuleFile(path)
		if ps, ok := err.(config.Problems); ok {
			problems = append(problems, ps...)
			continue
		}
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, rf)
	}
	problems = append(problems, config.CheckRuleFiles(parsed)...)
	if len(problems) > 0 {
		problems.Sort()
		return nil, problems
	}
	prog, ps := metrics.Build(parsed, match.NewLibrary(), reg, self)
	if len(ps) > 0 {
		return nil, ps
	}
	return prog, nil
}
