package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/forward"
	"github.com/logmeter/logmeter/pkg/kube"
	"github.com/logmeter/logmeter/pkg/logline"
	"github.com/logmeter/logmeter/pkg/metrics"
	"github.com/logmeter/logmeter/pkg/server"
	"github.com/logmeter/logmeter/pkg/tail"
)

// cmdRun is the node agent: it follows the configured files, serves
// /metrics, reloads on SIGHUP or when its files change, and stops cleanly
// on SIGTERM.
func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "daemon configuration file (YAML)")
	logLevel := fs.String("log.level", "info", "log level: debug, info, warn or error")
	logFormat := fs.String("log.format", "logfmt", "log format: logfmt or json")
	shutdownTimeout := fs.Duration("shutdown-timeout", 20*time.Second, "how long a stop may take to flush and save its state")
	pprof := fs.Bool("pprof", false, "serve Go profiles at /debug/pprof/, behind the same TLS and basic auth as /metrics")
	rest, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("run: unexpected argument %q", rest[0])}
	}
	if *cfgPath == "" {
		return &exitError{code: 2, msg: "run: no configuration given (use --config FILE)"}
	}
	logger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return &exitError{code: 2, msg: "run: " + err.Error()}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	d, err := newDaemon(*cfgPath, logger)
	if err != nil {
		return problemsExit(err, stderr)
	}
	if *pprof {
		d.routes = pprofHandlers()
	}
	return d.run(ctx, hup, *shutdownTimeout)
}

// pprofHandlers are net/http/pprof's endpoints, for the server's mux.
func pprofHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		"/debug/pprof/":        http.HandlerFunc(httppprof.Index),
		"/debug/pprof/cmdline": http.HandlerFunc(httppprof.Cmdline),
		"/debug/pprof/profile": http.HandlerFunc(httppprof.Profile),
		"/debug/pprof/symbol":  http.HandlerFunc(httppprof.Symbol),
		"/debug/pprof/trace":   http.HandlerFunc(httppprof.Trace),
	}
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log.level %q (valid: debug, info, warn, error)", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "logfmt":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("bad --log.format %q (valid: logfmt, json)", format)
}

// daemon wires the packages together. The tailer's goroutine owns the
// pipeline state (prog, runner): reloads hand it over through tailDo, so a
// line is never processed by half a configuration and checkpoints always
// pair offsets with the metric values they produced.
type daemon struct {
	cfgPath string
	log     *slog.Logger

	promReg *prometheus.Registry
	self    *metrics.Self
	rules   *metrics.Registry

	cfg    *config.Daemon
	prog   *metrics.Program
	runner *metrics.Runner
	tailer *tail.Tailer
	tailDo chan func()

	kube   kube.Enricher // tailer goroutine
	pods   *kube.Pods    // nil unless kubernetes.enabled
	events *kube.Events  // nil unless kubernetes.events
	elect  kube.ElectionOptions

	fwd   *forward.Forwarder // nil without forward.elasticsearch
	fwdDo chan func()
	caps  *captureRunner

	routes map[string]http.Handler // more routes of the server (pprof)

	mu      sync.Mutex // guards watched
	watched map[string]fileStamp
	ready   chan struct{}
}

func newDaemon(cfgPath string, log *slog.Logger) (*daemon, error) {
	cfg, err := config.LoadDaemon(cfgPath)
	if err != nil {
		return nil, err
	}
	d := &daemon{
		cfgPath: cfgPath,
		log:     log,
		promReg: prometheus.NewRegistry(),
		tailDo:  make(chan func()),
		fwdDo:   make(chan func()),
		ready:   make(chan struct{}),
	}
	d.promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if d.self, err = metrics.NewSelf(d.promReg, version, revision()); err != nil {
		return nil, err
	}
	d.rules = metrics.NewRegistry(d.self)
	if err := d.promReg.Register(d.rules); err != nil {
		return nil, err
	}
	prog, _, err := loadProgram(ruleGlobs(cfg), d.rules, d.self)
	if err != nil {
		return nil, err
	}
	if err := d.rules.Swap(prog.Families()); err != nil {
		return nil, err
	}
	d.cfg, d.prog, d.runner = cfg, prog, prog.NewRunner()
	d.kube.Node = cfg.Kubernetes.NodeName.Value
	d.tailer, err = tail.New(tail.Options{
		Inputs:       tailInputs(cfg),
		StateDir:     cfg.StateDir.Value,
		MaxOpenFiles: cfg.Tail.MaxOpenFiles,
		ReadChunk:    cfg.Tail.ReadChunk,
		Logger:       log,
		Self:         d.self,
	}, d.handle)
	if err != nil {
		return nil, err
	}
	if saved := d.tailer.Restored(); len(saved) > 0 {
		var st metrics.State
		if err := json.Unmarshal(saved, &st); err != nil {
			log.Warn("ignoring saved metric state", "err", err)
		} else {
			log.Info("restored metric state", "series", prog.Restore(st), "saved", st.Saved)
		}
	}
	if cfg.Kubernetes.Enabled || cfg.Kubernetes.Events {
		// client-go logs through klog: into the agent's own log.
		klog.SetSlogLogger(log.With("component", "client-go"))
		client, err := newKubeClient(cfg)
		if err != nil {
			return nil, err
		}
		if cfg.Kubernetes.Enabled {
			d.pods = kube.NewPods(client, cfg.Kubernetes.NodeName.Value, log, d.self.KubernetesAPIUp)
			d.kube.Pods = d.pods
		}
		if cfg.Kubernetes.Events {
			if err := d.setUpEvents(cfg, client); err != nil {
				return nil, err
			}
		}
	}
	d.caps = &captureRunner{runner: prog.NewRunner()}
	if d.fwd, err = newForwarder(cfg, d.caps, d.pods, d.self, log, d.fwdDo); err != nil {
		return nil, err
	}
	d.self.ConfigLastReloadSuccessful.Set(1)
	d.watched = d.stampFiles()
	return d, nil
}

// handle runs for every line, in the tailer's goroutine.
func (d *daemon) handle(line *logline.Line) {
	d.kube.Enrich(line)
	d.runner.Process(line, time.Now(), nil)
}

func ruleGlobs(cfg *config.Daemon) []string {
	out := make([]string, len(cfg.Rules))
	for i, r := range cfg.Rules {
		out[i] = r.Value
	}
	return out
}

func tailInputs(cfg *config.Daemon) []tail.Input {
	var out []tail.Input
	for _, in := range cfg.Inputs {
		ti := tail.Input{Name: in.Name.Value, MaxLineBytes: in.MaxLineBytes}
		for _, p := range in.Paths {
			ti.Paths = append(ti.Paths, p.Value)
		}
		for _, p := range in.Exclude {
			ti.Exclude = append(ti.Exclude, p.Value)
		}
		ti.Format, _ = tail.ParseFormat(in.Format.Value) // validated by config
		if in.StartAt.Value == "beginning" {
			ti.StartAt = tail.StartAtBeginning
		}
		if ml := in.Multiline; ml != nil {
			mc := &tail.MultilineConfig{MaxLines: ml.MaxLines, MaxBytes: in.MaxLineBytes, Timeout: ml.Timeout}
			if ml.Start.Value != "" {
				mc.Start = regexp.MustCompile(ml.Start.Value) // validated by config
			} else {
				mc.Continue = regexp.MustCompile(ml.Continue.Value)
			}
			ti.Multiline = mc
		}
		out = append(out, ti)
	}
	if cfg.Kubernetes.Events {
		out = append(out, tail.Input{
			Name:         config.EventsInput,
			Paths:        []string{filepath.Join(eventsDir(cfg), kube.EventLogName)},
			Format:       tail.FormatCRI,
			StartAt:      tail.StartAtBeginning,
			MaxLineBytes: config.DefaultMaxLineBytes,
		})
	}
	return out
}

// eventsDir holds the event log that kubernetes.events writes and the
// inputs read.
func eventsDir(cfg *config.Daemon) string {
	return filepath.Join(cfg.StateDir.Value, "kubernetes-events")
}

// setUpEvents prepares the elected watcher of Kubernetes events and its
// metrics.
func (d *daemon) setUpEvents(cfg *config.Daemon, client kubernetes.Interface) error {
	counter := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "logmeter_kubernetes_events_total",
		Help: "Occurrences of Kubernetes events written by this replica, by the involved object's namespace and kind, and the event's type and reason.",
	}, []string{"namespace", "kind", "type", "reason"})
	leader := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "logmeter_kubernetes_events_leader",
		Help: "1 while this replica holds the lease and watches Kubernetes events.",
	})
	if err := d.promReg.Register(counter); err != nil {
		return err
	}
	if err := d.promReg.Register(leader); err != nil {
		return err
	}
	// The directory exists before the tailers look for the event log in
	// it, elected or not: a missing input directory is reported as a
	// configuration problem.
	if err := os.MkdirAll(eventsDir(cfg), 0o750); err != nil {
		return fmt.Errorf("kubernetes events: %w", err)
	}
	d.events = kube.NewEvents(kube.EventsOptions{
		Client: client, Dir: eventsDir(cfg), Counter: counter,
		Logger: d.log.With("component", "events"),
	})
	ns := cfg.Kubernetes.EventsLeaseNamespace.Value
	if ns == "" {
		ns = kube.LeaseNamespace()
	}
	d.elect = kube.ElectionOptions{
		Client: client, Namespace: ns, Name: cfg.Kubernetes.EventsLeaseName.Value,
		Identity: kube.Identity(), Leader: leader, Logger: d.log.With("component", "events"),
	}
	return nil
}

func (d *daemon) run(ctx context.Context, hup <-chan os.Signal, shutdownTimeout time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)

	watcher, err := tail.NewWatcher(d.log)
	if err != nil {
		d.log.Warn("no file notifications; polling only", "err", err)
	}
	ro := tail.RunOptions{
		PollEvery:       d.cfg.Tail.PollInterval,
		ScanEvery:       d.cfg.Tail.ScanInterval,
		CheckpointEvery: d.cfg.Tail.CheckpointInterval,
		Do:              d.tailDo,
		Extra:           d.extra,
	}
	if watcher != nil {
		ro.Watcher, ro.Wake = watcher, watcher.Wake()
		wg.Go(func() { watcher.Run(ctx) })
	}
	if d.pods != nil {
		if err := d.pods.Run(ctx); err != nil {
			return err
		}
	}
	eventsDone := make(chan error, 1)
	if d.events != nil {
		go func() {
			eventsDone <- kube.Elect(ctx, d.elect, func(lctx context.Context) {
				if err := d.events.Run(lctx); err != nil {
					d.log.Error("watching Kubernetes events failed", "err", err)
				}
			})
		}()
	} else {
		eventsDone <- nil
	}
	tailDone := make(chan error, 1)
	go func() { tailDone <- d.tailer.Run(ctx, ro) }()
	fwdDone := make(chan error, 1)
	if d.fwd != nil {
		go func() { fwdDone <- d.fwd.Run(ctx) }()
	} else {
		fwdDone <- nil
	}
	close(d.ready)

	wg.Go(func() {
		err := server.Run(ctx, server.Options{
			Listen:    d.cfg.Server.Listen.Value,
			WebConfig: d.cfg.Server.WebConfig.Value,
			Gatherer:  d.promReg,
			Ready:     d.readiness,
			Logger:    d.log,
			Extra:     d.routes,
		})
		if err != nil {
			errs <- fmt.Errorf("serve: %w", err)
			cancel()
		}
	})
	wg.Go(func() { d.housekeeping(ctx, hup) })

	d.log.Info("logmeter started", "version", version, "config", d.cfgPath, "listen", d.cfg.Server.Listen.Value,
		"inputs", len(d.cfg.Inputs), "rules", len(d.prog.Rules()))
	<-ctx.Done()
	d.log.Info("stopping: saving positions and metric state")
	var tailErr error
	deadline := time.After(shutdownTimeout)
	for _, done := range []chan error{eventsDone, tailDone, fwdDone} {
		select {
		case err := <-done:
			tailErr = cmp.Or(tailErr, err)
		case <-deadline:
			tailErr = fmt.Errorf("stop took longer than %s; state may be up to one checkpoint interval old", shutdownTimeout)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	if tailErr != nil {
		return tailErr
	}
	d.log.Info("stopped")
	return nil
}

func (d *daemon) readiness() error {
	select {
	case <-d.ready:
		return nil
	default:
		return errors.New("starting")
	}
}

// extra is the metric state saved with each checkpoint (tailer goroutine).
func (d *daemon) extra() json.RawMessage {
	data, err := json.Marshal(d.prog.Snapshot(time.Now()))
	if err != nil {
		d.log.Error("cannot encode metric state", "err", err)
		return nil
	}
	return data
}

// housekeeping expires idle series and reloads on SIGHUP or when the
// configuration or rule files change (ConfigMap updates swap a symlink).
func (d *daemon) housekeeping(ctx context.Context, hup <-chan os.Signal) {
	expire := time.NewTicker(10 * time.Second)
	defer expire.Stop()
	watch := time.NewTicker(2 * time.Second)
	defer watch.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			d.log.Info("SIGHUP: reloading")
			d.reload(ctx)
		case <-watch.C:
			if d.filesChanged() {
				d.log.Info("configuration or rule files changed: reloading")
				d.reload(ctx)
			}
		case now := <-expire.C:
			d.rules.Expire(now)
		}
	}
}

// reload applies a new version of the configuration and rules, or keeps the
// running one when the new one has problems.
func (d *daemon) reload(ctx context.Context) {
	d.mu.Lock()
	d.watched = d.stampFiles()
	d.mu.Unlock()
	fail := func(err error) {
		d.self.ConfigLastReloadSuccessful.Set(0)
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				d.log.Error("reload refused; the running configuration stays", "problem", p.Error())
			}
			return
		}
		d.log.Error("reload refused; the running configuration stays", "err", err)
	}
	cfg, err := config.LoadDaemon(d.cfgPath)
	if err != nil {
		fail(err)
		return
	}
	prog, _, err := loadProgram(ruleGlobs(cfg), d.rules, d.self)
	if err != nil {
		fail(err)
		return
	}
	if cfg.Server.Listen.Value != d.cfg.Server.Listen.Value || cfg.Server.WebConfig.Value != d.cfg.Server.WebConfig.Value {
		d.log.Warn("server settings changed; they take effect at the next start")
	}
	inputs := tailInputs(cfg)
	applied := make(chan error, 1)
	swap := func() {
		// In the tailer's goroutine: no line is being processed.
		if err := d.rules.Swap(prog.Families()); err != nil {
			applied <- err
			return
		}
		d.prog, d.runner = prog, prog.NewRunner()
		d.tailer.SetInputs(inputs)
		applied <- nil
	}
	select {
	case d.tailDo <- swap:
	case <-ctx.Done():
		return
	}
	if err := <-applied; err != nil {
		fail(err)
		return
	}
	if d.fwd != nil {
		// The forwarder follows the new inputs and matches captures with
		// the new rules, in its own goroutine.
		select {
		case d.fwdDo <- func() { d.fwd.SetInputs(inputs); d.caps.runner = prog.NewRunner() }:
		case <-ctx.Done():
			return
		}
	}
	d.cfg = cfg
	d.self.ConfigLastReloadSuccessful.Set(1)
	d.log.Info("reloaded", "inputs", len(cfg.Inputs), "rules", len(prog.Rules()))
}

// fileStamp tells whether a file changed: what the path resolves to (a
// ConfigMap swaps a symlink) and that file's size and modification time.
type fileStamp struct {
	target string
	size   int64
	mtime  time.Time
}

func (d *daemon) stampFiles() map[string]fileStamp {
	paths := []string{d.cfgPath}
	if d.cfg != nil {
		for _, g := range ruleGlobs(d.cfg) {
			if m, err := globRuleFiles(g); err == nil {
				paths = append(paths, m...)
			}
		}
	}
	out := map[string]fileStamp{}
	for _, p := range paths {
		var st fileStamp
		if t, err := filepath.EvalSymlinks(p); err == nil {
			st.target = t
		}
		if fi, err := os.Stat(p); err == nil {
			st.size, st.mtime = fi.Size(), fi.ModTime()
		}
		out[p] = st
	}
	return out
}

func (d *daemon) filesChanged() bool {
	now := d.stampFiles()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(now) != len(d.watched) {
		return true
	}
	for p, st := range now {
		if old, ok := d.watched[p]; !ok || old != st {
			return true
		}
	}
	return false
}

// newKubeClient connects to the API server: in-cluster, or through
// kubernetes.kubeconfig.
func newKubeClient(cfg *config.Daemon) (kubernetes.Interface, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubernetes.Kubeconfig.Value)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	rc.UserAgent = "logmeter/" + version
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	return client, nil
}
