package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
)

const (
	// DefaultListen is the address Run listens on when Options.Listen is "".
	DefaultListen = ":9144"
	// DefaultShutdownTimeout bounds a graceful shutdown when
	// Options.ShutdownTimeout is zero.
	DefaultShutdownTimeout = 5 * time.Second
	// readHeaderTimeout stops clients that open a connection and never
	// finish their request headers from holding it forever.
	readHeaderTimeout = 10 * time.Second
)

// Options configures the endpoint.
type Options struct {
	// Listen is the TCP address Run listens on, e.g. ":9144"; "" means
	// DefaultListen. Serve ignores it and uses the listener it is given.
	Listen string
	// WebConfig is an exporter-toolkit web config file (TLS, basic auth,
	// headers, rate limit); "" serves plain HTTP without auth.
	WebConfig string
	// Gatherer is what /metrics serves. Required.
	Gatherer prometheus.Gatherer
	// Ready reports readiness: nil means /readyz answers 200 "ok", an error
	// means 503 with the error text. A nil Ready is always ready.
	Ready func() error
	// Logger receives startup, shutdown and scrape error messages; nil
	// discards them.
	Logger *slog.Logger
	// Extra maps http.ServeMux patterns to additional handlers (pprof, for
	// instance). A pattern that conflicts with a built-in route is an error.
	Extra map[string]http.Handler
	// ShutdownTimeout bounds the graceful shutdown once ctx is done; zero
	// means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// Run listens on o.Listen and serves until ctx is done, then shuts down
// gracefully. A bad web config or a listen error (port in use) is returned
// at once, before anything is served.
func Run(ctx context.Context, o Options) error {
	h, err := prepare(o)
	if err != nil {
		return err
	}
	addr := o.Listen
	if addr == "" {
		addr = DefaultListen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", addr, err)
	}
	return serve(ctx, ln, o, h)
}

// Serve is Run on a listener the caller opened (for ":0" and tests). Serve
// owns ln and closes it before returning. It returns nil after a graceful
// shutdown triggered by ctx, and an error when the web config is bad, the
// server fails, or the shutdown deadline passes with requests still running.
func Serve(ctx context.Context, ln net.Listener, o Options) error {
	h, err := prepare(o)
	if err != nil {
		_ = ln.Close()
		return err
	}
	return serve(ctx, ln, o, h)
}

// prepare checks the options and builds the routes.
func prepare(o Options) (http.Handler, error) {
	if o.Gatherer == nil {
		return nil, errors.New("server: no Gatherer given")
	}
	if err := web.Validate(o.WebConfig); err != nil {
		return nil, fmt.Errorf("server: web config %s: %w", o.WebConfig, err)
	}
	return newMux(o)
}

func serve(ctx context.Context, ln net.Listener, o Options, h http.Handler) error {
	defer ln.Close() // web.Serve may fail before http.Server takes ln over.
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := o.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}

	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
	}
	listen := []string{ln.Addr().String()}
	webConfig := o.WebConfig
	flags := &web.FlagConfig{WebListenAddresses: &listen, WebConfigFile: &webConfig}

	served := make(chan struct{})
	shutdown := make(chan error, 1)
	go func() {
		select {
		case <-served:
			shutdown <- nil
			return
		case <-ctx.Done():
		}
		logger.Info("Shutting down HTTP server", "address", ln.Addr().String())
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		err := srv.Shutdown(sctx)
		if err != nil {
			_ = srv.Close()
			err = fmt.Errorf("server: graceful shutdown within %s: %w", timeout, err)
		}
		shutdown <- err
	}()

	err := web.Serve(ln, srv, flags, logger)
	close(served)
	shutErr := <-shutdown
	if errors.Is(err, http.ErrServerClosed) {
		return shutErr
	}
	_ = srv.Close()
	return fmt.Errorf("server: serve on %s: %w", ln.Addr(), err)
}

// newMux builds the routes: the landing page, /metrics, /healthz, /readyz
// and o.Extra.
func newMux(o Options) (mux *http.ServeMux, err error) {
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "logmeter",
		Description: "Log-to-metrics agent",
		Profiling:   "false",
		Links: []web.LandingLinks{
			{Address: "metrics", Text: "Metrics", Description: "rule metrics and self-metrics"},
			{Address: "healthz", Text: "Health", Description: "200 while the process runs"},
			{Address: "readyz", Text: "Readiness", Description: "200 once logmeter is ready, 503 otherwise"},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("server: landing page: %w", err)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	mux = http.NewServeMux()
	mux.Handle("GET /{$}", landing)
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.Handle("GET /readyz", readyHandler(o.Ready))

	for pattern, h := range o.Extra {
		if err := handle(mux, pattern, h); err != nil {
			return nil, err
		}
	}
	return mux, nil
}

// handle registers one extra route, turning ServeMux's panic on a bad or
// conflicting pattern into an error.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	if h == nil {
		return fmt.Errorf("server: extra route %q: nil handler", pattern)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("server: extra route %q: %v", pattern, r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

func readyHandler(ready func() error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if ready != nil {
			if err := ready(); err != nil {
				writeText(w, http.StatusServiceUnavailable, err.Error())
				return
			}
		}
		writeText(w, http.StatusOK, "ok")
	})
}

func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
