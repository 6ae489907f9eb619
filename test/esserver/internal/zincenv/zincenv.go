// Package zincenv parses esserver's command line and turns it into the
// ZINC_* environment variables that zincsearch's packages read in their
// init functions. It must be initialised before any zincsearch package:
// it imports only "flag", "fmt" and "os", and its import path sorts before
// github.com/rs/zerolog, on which zinc's config package depends, so Go's
// package initialisation order (by import path among ready packages) runs
// it first. main double-checks that zinc saw the values set here.
package zincenv

import (
	"flag"
	"fmt"
	"os"
)

// Options are esserver's settings after flag parsing.
type Options struct {
	Listen   string // host:port to listen on
	DataDir  string // absolute directory holding zinc's data
	User     string // admin user name (created on first start only)
	Password string // admin password (created on first start only)
	WALSync  string // zinc's WAL consume interval, a Go duration
	Shards   string // zinc's first-layer shard count for new indices
	Verbose  bool   // log zinc's info messages and every request
}

// Parsed holds the options parsed from os.Args at init time.
var Parsed Options

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func init() {
	fs := flag.NewFlagSet(progName(), flag.ContinueOnError)
	fs.StringVar(&Parsed.Listen, "listen", envOr("ESSERVER_LISTEN", "127.0.0.1:9200"), "address to listen on (env ESSERVER_LISTEN)")
	fs.StringVar(&Parsed.DataDir, "data", os.Getenv("ESSERVER_DATA"), "data directory, created if missing (env ESSERVER_DATA; required)")
	fs.StringVar(&Parsed.User, "user", envOr("ESSERVER_USER", "elastic"), "admin user name, set on first start of a data directory (env ESSERVER_USER)")
	fs.StringVar(&Parsed.Password, "password", envOr("ESSERVER_PASSWORD", "changeme"), "admin password, set on first start of a data directory (env ESSERVER_PASSWORD)")
	fs.StringVar(&Parsed.WALSync, "wal-sync", envOr("ESSERVER_WAL_SYNC", "100ms"), "how often zinc moves written documents from its WAL into the index (env ESSERVER_WAL_SYNC)")
	fs.StringVar(&Parsed.Shards, "shards", envOr("ESSERVER_SHARDS", "1"), "shards per new index (env ESSERVER_SHARDS)")
	fs.BoolVar(&Parsed.Verbose, "verbose", false, "log zinc's info messages and every request")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fail("unexpected arguments %q", fs.Args())
	}
	if Parsed.DataDir == "" {
		fail("--data is required")
	}
	if Parsed.DataDir[0] != '/' {
		wd, err := os.Getwd()
		if err != nil {
			fail("%v", err)
		}
		Parsed.DataDir = wd + "/" + Parsed.DataDir
	}
	if err := os.MkdirAll(Parsed.DataDir, 0o755); err != nil {
		fail("%v", err)
	}
	// zinc loads ./.env and resolves some paths against the working
	// directory: run inside the data directory so nothing else leaks in.
	if err := os.Chdir(Parsed.DataDir); err != nil {
		fail("%v", err)
	}

	set := map[string]string{
		"ZINC_DATA_PATH":            Parsed.DataDir,
		"ZINC_FIRST_ADMIN_USER":     Parsed.User,
		"ZINC_FIRST_ADMIN_PASSWORD": Parsed.Password,
		"ZINC_WAL_SYNC_INTERVAL":    Parsed.WALSync,
		"ZINC_SHARD_NUM":            Parsed.Shards,
		"ZINC_SERVER_MODE":          "node",
		"ZINC_METADATA_STORAGE":     "bolt",
		"ZINC_TELEMETRY":            "false",
		"ZINC_SENTRY":               "false",
		"ZINC_PROFILER":             "false",
		"ZINC_PROMETHEUS_ENABLE":    "false",
		"ZINC_SWAGGER_ENABLE":       "false",
		"ZINC_PLUGIN_ES_VERSION":    "8.13.0",
		"GIN_MODE":                  "release",
	}
	for k, v := range set {
		if err := os.Setenv(k, v); err != nil {
			fail("%v", err)
		}
	}
}

func progName() string {
	if len(os.Args) > 0 {
		return os.Args[0]
	}
	return "esserver"
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "esserver: "+format+"\n", args...)
	os.Exit(2)
}
