// Command esserver is a test-only, Elasticsearch-compatible HTTP server
// built on ZincSearch's Go packages. It serves the small part of the
// Elasticsearch REST API that logmeter's forwarding tests use (info, _bulk,
// _search, _count, _doc, _cat/indices, index create/delete, _refresh) at the
// root path, with HTTP basic auth checked against zinc's user store and
// gzip-encoded request bodies accepted.
//
// It is not a product: see README.md for what differs from Elasticsearch.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	// zincenv must come first: it sets zinc's environment before zinc's
	// package initialisers read it.
	"github.com/logmeter/logmeter/test/esserver/internal/zincenv"

	"github.com/rs/zerolog"
	"github.com/zincsearch/zincsearch/pkg/config"
	"github.com/zincsearch/zincsearch/pkg/core"
	"github.com/zincsearch/zincsearch/pkg/metadata"
)

func main() {
	opts := zincenv.Parsed
	logger := log.New(os.Stderr, "esserver: ", log.LstdFlags|log.Lmicroseconds)
	if config.Global.DataPath != opts.DataDir {
		logger.Fatalf("zinc read its configuration before esserver set it (data path %q, want %q)", config.Global.DataPath, opts.DataDir)
	}
	if !opts.Verbose {
		zerolog.SetGlobalLevel(zerolog.WarnLevel)
	}

	srv := newServer(logger, opts.Verbose)
	httpServer := &http.Server{
		Handler:           srv.handler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		logger.Fatalf("listen: %v", err)
	}
	// Tests read this line to learn the address when listening on port 0.
	fmt.Fprintf(os.Stderr, "esserver: listening on http://%s data=%s\n", ln.Addr(), opts.DataDir)

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()

	select {
	case err := <-serveErr:
		logger.Printf("serve: %v", err)
	case s := <-sig:
		logger.Printf("%v: shutting down", s)
		go func() {
			<-sig
			logger.Printf("second signal: exiting now")
			os.Exit(1)
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Printf("http shutdown: %v", err)
	}
	// Let zinc move what is still in its WAL into the index so a restart
	// finds everything searchable at once, then close indexes and metadata.
	if err := waitDrained(ctx, nil); err != nil {
		logger.Printf("draining WAL: %v", err)
	}
	if err := core.ZINC_INDEX_LIST.Close(); err != nil {
		logger.Printf("closing indexes: %v", err)
	}
	if err := metadata.Close(); err != nil {
		logger.Printf("closing metadata: %v", err)
	}
	logger.Printf("stopped")
}
