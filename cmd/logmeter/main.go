// Command logmeter turns log lines into Prometheus metrics with grok rules
// and ships the raw lines to Elasticsearch. This file only dispatches the
// subcommands; the work is done by the packages under pkg/.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version and buildRevision are stamped at build time with
// -ldflags "-X main.version=... -X main.buildRevision=...".
var (
	version       = "dev"
	buildRevision = ""
)

const usage = `usage: logmeter <command> [flags]

commands:
  run    --config FILE [--log.level LEVEL] [--log.format logfmt|json]
         the node agent: follow log files, serve /metrics, /healthz, /readyz
  test   --rules FILE [--format auto|plain|cri|docker] [--explain] LOGFILE...
         read log files once through the rules and print the metrics
  test   [--explain] FILE_test.yaml...
         run rule unit tests; prints PASS or FAIL per test and a summary
  check  --rules FILE...
         validate rule files; prints FILE:LINE:COL: message per problem
  import grok_exporter [--rules-dir DIR] [--base-dir DIR] CONFIG
         print a rule file equivalent to a grok_exporter configuration
  version
         print the version

Run 'logmeter <command> --help' for the flags of a command.
`

// exitError carries the exit status a command wants; its message (if any)
// has already been printed or is printed by main.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(args[1:], stdout, stderr)
	case "test":
		err = cmdTest(args[1:], stdout, stderr)
	case "check":
		err = cmdCheck(args[1:], stdout, stderr)
	case "import":
		err = cmdImport(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "logmeter %s (%s, revision %s)\n", version, goVersion(), revision())
	case "help", "--help", "-h", "-help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "logmeter: unknown command %q (valid: run, test, check, import, version)\n", args[0])
		return 2
	}
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "logmeter: "+ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "logmeter: "+err.Error())
	return 2
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown"
}

func revision() string {
	if buildRevision != "" {
		return buildRevision
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
