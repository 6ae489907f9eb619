package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/metrics"
)

// cmdCheck validates rule files, or a daemon configuration together with
// the rule files it names: exit 0 when all are valid, 1 with one
// FILE:LINE:COL: message line per problem otherwise.
func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var rules stringList
	fs.Var(&rules, "rules", "rule file or glob (repeatable); further arguments are rule files too")
	cfgPath := fs.String("config", "", "daemon configuration file: checked with the rule files it names")
	args, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	rules = append(rules, args...)
	if len(rules) == 0 && *cfgPath == "" {
		return &exitError{code: 2, msg: "check: nothing to check (use --rules FILE or --config FILE)"}
	}
	what := ""
	if *cfgPath != "" {
		cfg, err := config.LoadDaemon(*cfgPath)
		if err != nil {
			return problemsExit(err, stderr)
		}
		rules = append(rules, ruleGlobs(cfg)...)
		what = "configuration and "
	}
	self, err := metrics.NewSelf(prometheus.NewRegistry(), version, revision())
	if err != nil {
		return err
	}
	_, n, err := loadProgram(rules, metrics.NewRegistry(self), self)
	if err != nil {
		return problemsExit(err, stderr)
	}
	fmt.Fprintf(stdout, "%s%d rule file(s) OK\n", what, n)
	return nil
}
