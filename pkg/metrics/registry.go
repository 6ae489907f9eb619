package metrics

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Registry holds the rule families of the running rule version and carries
// them over to the next one on reload, so that counters present in both
// versions keep their values. It is a prometheus.Collector over the
// installed families; register it once and Swap on every (re)load.
type Registry struct {
	self *Self

	mu     sync.Mutex
	active map[string]*Family // installed by the last Swap
	// Families handed out by Family since the last Swap, with the limits the
	// pending version asked for; Swap applies them.
	pending map[string]pendingFamily
}

type pendingFamily struct {
	fam       *Family
	maxSeries int
	expire    time.Duration
}

// NewRegistry returns an empty registry. self may be nil.
func NewRegistry(self *Self) *Registry {
	return &Registry{
		self:    self,
		active:  make(map[string]*Family),
		pending: make(map[string]pendingFamily),
	}
}

// Family returns the family for opts in the version being built: the
// installed family of that name when it exposes the same metric (kind,
// help, label names, buckets, objectives, native settings), so it keeps
// its values, otherwise a new empty one. MaxSeries and Expire may differ;
// the new values take effect at Swap, so a rejected version changes nothing.
// Asking twice for the same compatible opts before a Swap yields the same family.
func (r *Registry) Family(opts FamilyOpts) (*Family, error) {
	norm, err := normalize(opts)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pending[norm.Name]
	if !ok || !p.fam.compatible(norm) {
		p = pendingFamily{}
		if f := r.active[norm.Name]; f != nil && f.compatible(norm) {
			p.fam = f
		} else if p.fam, err = NewFamily(norm, r.self); err != nil {
			return nil, err
		}
	}
	p.maxSeries, p.expire = norm.MaxSeries, norm.Expire
	r.pending[norm.Name] = p
	return p.fam, nil
}

// Swap installs fams as the exposed families; families not among them
// disappear from the exposition. It fails, changing nothing, when two
// different families share a name.
func (r *Registry) Swap(fams []*Family) error {
	next := make(map[string]*Family, len(fams))
	for _, f := range fams {
		name := f.Name()
		if g, ok := next[name]; ok && g != f {
			return fmt.Errorf("metric %s is defined twice with different options", name)
		}
		next[name] = f
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, f := range next {
		if p, ok := r.pending[name]; ok && p.fam == f {
			f.setLimits(p.maxSeries, p.expire)
		}
		if r.self != nil {
			r.self.Series.WithLabelValues(name).Set(float64(f.Len()))
		}
	}
	for name := range r.active {
		if _, ok := next[name]; !ok && r.self != nil {
			r.self.Series.DeleteLabelValues(name)
		}
	}
	r.active = next
	r.pending = make(map[string]pendingFamily)
	return nil
}

// Expire deletes idle series from every installed family.
func (r *Registry) Expire(now time.Time) {
	for _, f := range r.families() {
		f.Expire(now)
	}
}

func (r *Registry) families() []*Family {
	r.mu.Lock()
	defer r.mu.Unlock()
	fams := make([]*Family, 0, len(r.active))
	for _, f := range r.active {
		fams = append(fams, f)
	}
	return fams
}

// Describe implements prometheus.Collector. It describes nothing: the set
// of rule metrics changes with every reload, which makes Registry an
// unchecked collector.
func (r *Registry) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (r *Registry) Collect(ch chan<- prometheus.Metric) {
	for _, f := range r.families() {
		f.Collect(ch)
	}
}
