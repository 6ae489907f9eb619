package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ElectionOptions configure Elect.
type ElectionOptions struct {
	Client    kubernetes.Interface
	Namespace string // of the Lease
	Name      string // of the Lease
	Identity  string // unique per replica; see Identity
	Leader    prometheus.Gauge
	Logger    *slog.Logger

	// Lease timing; zero values take client-go's customary 15s, 10s, 2s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Elect runs lead while this replica holds the Lease, and campaigns again
// whenever it loses it, until ctx is done. lead must return soon after its
// context ends; Elect never runs two at once.
func Elect(ctx context.Context, o ElectionOptions, lead func(context.Context)) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.Namespace, Name: o.Name},
		Client:     o.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}
	var running sync.Mutex // held while lead runs
	cfg := leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            o.Namespace + "/" + o.Name,
		LeaseDuration:   orDefault(o.LeaseDuration, 15*time.Second),
		RenewDeadline:   orDefault(o.RenewDeadline, 10*time.Second),
		RetryPeriod:     orDefault(o.RetryPeriod, 2*time.Second),
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				running.Lock()
				defer running.Unlock()
				o.Logger.Info("elected: watching Kubernetes events", "lease", o.Namespace+"/"+o.Name, "identity", o.Identity)
				setGauge(o.Leader, 1)
				lead(lctx)
			},
			OnStoppedLeading: func() {
				setGauge(o.Leader, 0)
				if ctx.Err() == nil {
					o.Logger.Warn("lost the events lease; campaigning again", "lease", o.Namespace+"/"+o.Name)
				}
			},
			OnNewLeader: func(id string) {
				if id != o.Identity {
					o.Logger.Info("another replica watches Kubernetes events", "leader", id)
				}
			},
		},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(cfg)
		if err != nil {
			return fmt.Errorf("kubernetes events: leader election: %w", err)
		}
		le.Run(ctx)
	}
	// Wait for a lead that is still finishing (it saves its state).
	running.Lock()
	defer running.Unlock()
	return nil
}

// Identity names this replica in the Lease: the pod's name (its host name)
// and a random suffix, so a restarted container is a new holder.
func Identity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "logmeter"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "_" + hex.EncodeToString(b[:])
}

// LeaseNamespace is the namespace for the Lease when the configuration
// names none: $POD_NAMESPACE, else the service account's, else "default".
func LeaseNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if data, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		if ns := strings.TrimSpace(string(data)); ns != "" {
			return ns
		}
	}
	return "default"
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func setGauge(g prometheus.Gauge, v float64) {
	if g != nil {
		g.Set(v)
	}
}
