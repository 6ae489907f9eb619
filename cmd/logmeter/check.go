package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logmeter/logmeter/pkg/metrics"
)

// cmdCheck validates rule files: exit 0 when all are valid, 1 with one
// FILE:LINE:COL: message line per problem otherwise.
func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var rules stringList
	fs.Var(&rules, "rules", "rule file or glob (repeatable); further arguments are rule files too")
	args, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	rules = append(rules, args...)
	if len(rules) == 0 {
		return &exitError{code: 2, msg: "check: no rule files given (use --rules FILE)"}
	}
	self, err := metrics.NewSelf(prometheus.NewRegistry(), version, revision())
	if err != nil {
		return err
	}
	_, n, err := loadProgram(rules, metrics.NewRegistry(self), self)
	if err != nil {
		return problemsExit(err, stderr)
	}
	fmt.Fprintf(stdout, "%d rule file(s) OK\n", n)
	return nil
}
