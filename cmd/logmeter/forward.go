package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/logmeter/logmeter/pkg/config"
	"github.com/logmeter/logmeter/pkg/forward"
	"github.com/logmeter/logmeter/pkg/kube"
	"github.com/logmeter/logmeter/pkg/logline"
	"github.com/logmeter/logmeter/pkg/metrics"
	"github.com/logmeter/logmeter/pkg/tail"
)

// captureRunner matches lines for the documents' captures in the
// forwarding goroutine; reloads replace its runner through that goroutine.
type captureRunner struct {
	runner *metrics.Runner
	hits   []metrics.Hit
}

func (c *captureRunner) captures(l *logline.Line, dst []forward.Capture) []forward.Capture {
	c.hits = c.runner.Match(l, c.hits[:0])
	for _, h := range c.hits {
		for i, f := range h.Fields {
			if s := h.Captures[2*i]; s >= 0 {
				dst = append(dst, forward.Capture{Name: f.Name, Value: string(l.Text[s:h.Captures[2*i+1]])})
			}
		}
	}
	return dst
}

// newForwarder builds the logging path from forward.elasticsearch, or
// returns nil when the configuration has none.
func newForwarder(cfg *config.Daemon, caps *captureRunner, pods *kube.Pods, self *metrics.Self, log *slog.Logger, do chan func()) (*forward.Forwarder, error) {
	if cfg.Forward == nil || cfg.Forward.Elasticsearch == nil {
		return nil, nil
	}
	es := cfg.Forward.Elasticsearch
	creds, err := forward.LoadCredentials(es.Auth.UsernameFile.Value, es.Auth.PasswordFile.Value, es.Auth.APIKeyFile.Value, es.Auth.BearerTokenFile.Value)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	tlsConf, err := forward.TLSConfig(es.TLS.CAFile.Value, es.TLS.CertFile.Value, es.TLS.KeyFile.Value, es.TLS.ServerName.Value, es.TLS.InsecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	var urls []string
	for _, u := range es.URLs {
		urls = append(urls, u.Value)
	}
	client, err := forward.NewClient(forward.ClientOptions{
		URLs: urls, Auth: creds, TLS: tlsConf, Gzip: es.Gzip, Timeout: es.Timeout,
		UserAgent: "logmeter/" + version,
	})
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	host, _ := os.Hostname()
	if cfg.Kubernetes.NodeName.Value != "" {
		host = cfg.Kubernetes.NodeName.Value
	}
	installTemplate(cfg, client, log)
	var captures func(*logline.Line, []forward.Capture) []forward.Capture
	if es.CapturesKey.Value != "" {
		captures = caps.captures
	}
	return forward.New(forward.Options{
		Settings: forward.Settings{
			Index:        es.Index.Value,
			DataStream:   es.DataStream,
			MaxDocs:      es.Batch.MaxDocs,
			MaxBytes:     int(es.Batch.MaxBytes),
			MaxWait:      es.Batch.MaxWait,
			BufferMax:    es.Buffer.MaxBytes,
			DropOldest:   es.Buffer.WhenFull.Value == config.WhenFullDropOldest,
			Workers:      es.Workers,
			CapturesKey:  es.CapturesKey.Value,
			RetryInitial: es.Retry.InitialBackoff,
			RetryMax:     es.Retry.MaxBackoff,
			FinalTimeout: 10 * time.Second,
			Host:         host,
			Routes:       forwardRoutes(cfg),
		},
		Client:   client,
		Inputs:   tailInputs(cfg),
		StateDir: cfg.StateDir.Value,
		Tail: tail.RunOptions{
			PollEvery:       cfg.Tail.PollInterval,
			ScanEvery:       cfg.Tail.ScanInterval,
			CheckpointEvery: cfg.Tail.CheckpointInterval,
			Do:              do,
		},
		Self:     self,
		Logger:   log,
		Captures: captures,
		Enrich:   (&kube.Enricher{Node: cfg.Kubernetes.NodeName.Value, Pods: pods}).Enrich,
	})
}

// forwardRoutes sends Kubernetes events to their own index, each event
// version once (its line carries its identity), with its fields
// structured under kubernetes.event.
func forwardRoutes(cfg *config.Daemon) map[string]forward.Route {
	if !cfg.Kubernetes.Events {
		return nil
	}
	return map[string]forward.Route{config.EventsInput: {
		Index: cfg.Kubernetes.EventsIndex.Value, IDFromText: true, Embed: "kubernetes.event",
	}}
}

// installTemplate puts the index template at start when asked to; a failure
// is logged, not fatal (the cluster may refuse templates to this user).
func installTemplate(cfg *config.Daemon, client *forward.Client, log *slog.Logger) {
	es := cfg.Forward.Elasticsearch
	if !es.Template.Install {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prefix := es.Index.Value
	if i := strings.Index(prefix, "%{"); i >= 0 {
		prefix = prefix[:i]
	}
	body := fmt.Sprintf(`{"index_patterns":[%q],"template":{"settings":{"number_of_shards":%d,"number_of_replicas":%d},"mappings":{"properties":{"@timestamp":{"type":"date_nanos"},"message":{"type":"text"},"stream":{"type":"keyword"},"log":{"properties":{"file":{"properties":{"path":{"type":"keyword"}}},"offset":{"type":"long"}}},"host":{"properties":{"name":{"type":"keyword"}}},"kubernetes":{"properties":{"namespace":{"type":"keyword"},"pod":{"properties":{"name":{"type":"keyword"},"uid":{"type":"keyword"}}},"container":{"properties":{"name":{"type":"keyword"}}},"node":{"properties":{"name":{"type":"keyword"}}}}}}}}}`,
		prefix+"*", es.Template.Shards, es.Template.Replicas)
	if err := client.PutIndexTemplate(ctx, es.Template.Name.Value, []byte(body)); err != nil {
		log.Warn("cannot install the index template", "name", es.Template.Name.Value, "err", err)
	}
}
