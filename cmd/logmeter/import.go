package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/logmeter/logmeter/internal/grokexporter"
)

// cmdImport converts another tool's configuration into a logmeter rule
// file on stdout. The only source so far is grok_exporter.
func cmdImport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	baseDir := fs.String("base-dir", "", "directory relative paths in the configuration (patterns_dir, imports) are relative to (default: the configuration file's directory)")
	rulesDir := fs.String("rules-dir", "", "directory the rule file will be saved in: pattern_files are written relative to it (default: absolute paths)")
	args, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return &exitError{code: 2, msg: "import: no source given (usage: logmeter import grok_exporter CONFIG)"}
	}
	if args[0] != "grok_exporter" {
		return &exitError{code: 2, msg: fmt.Sprintf("import: unknown source %q (valid: grok_exporter)", args[0])}
	}
	if len(args) != 2 {
		return &exitError{code: 2, msg: "import: want exactly one grok_exporter configuration file (usage: logmeter import grok_exporter CONFIG)"}
	}
	out, err := grokexporter.Convert(args[1], grokexporter.Options{BaseDir: *baseDir, RulesDir: *rulesDir})
	if err != nil {
		var ce *grokexporter.Error
		if errors.As(err, &ce) {
			// FILE:LINE[:COL]: message, like check's problems.
			fmt.Fprintln(stderr, ce.Error())
			return &exitError{code: 1}
		}
		return &exitError{code: 1, msg: "import: " + err.Error()}
	}
	_, err = stdout.Write(out)
	return err
}
