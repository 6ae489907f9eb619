package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRegistryReload(t *testing.T) {
	base := FamilyOpts{Name: "req_total", Help: "Requests.", Kind: Counter, LabelNames: []string{"method"}}
	relabeled := base
	relabeled.LabelNames = []string{"verb"}
	rehelped := base
	rehelped.Help = "Other."
	limited := base
	limited.MaxSeries = 1
	tests := []struct {
		name     string
		next     FamilyOpts
		wantSame bool
		want     string
	}{
		{"same opts keep values", base, true, "req_total{method=\"GET\"} 3\n"},
		{"new limits keep values", limited, true, "req_total{method=\"GET\"} 3\n"},
		{"label names change resets", relabeled, false, ""},
		{"help change resets", rehelped, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			self, _ := newTestSelf(t)
			r := NewRegistry(self)
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(r)

			f1, err := r.Family(base)
			mustNil(t, err)
			mustNil(t, r.Swap([]*Family{f1}))
			mustNil(t, f1.Add(lv("GET"), 3, t0))

			f2, err := r.Family(tt.next)
			mustNil(t, err)
			if (f2 == f1) != tt.wantSame {
				t.Fatalf("same family = %v, want %v", f2 == f1, tt.wantSame)
			}
			if f1.Opts().MaxSeries != 0 {
				t.Error("limits changed before Swap")
			}
			mustNil(t, r.Swap([]*Family{f2}))
			if got := f2.Opts().MaxSeries; got != tt.next.MaxSeries {
				t.Errorf("MaxSeries after Swap = %d, want %d", got, tt.next.MaxSeries)
			}
			want := "# HELP req_total " + tt.next.Help + "\n# TYPE req_total counter\n" + tt.want
			if tt.want == "" {
				want = ""
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRegistrySwap(t *testing.T) {
	self, selfReg := newTestSelf(t)
	r := NewRegistry(self)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r)
	a, err := r.Family(FamilyOpts{Name: "a_total", Help: "A.", Kind: Counter, Expire: time.Minute})
	mustNil(t, err)
	b, err := r.Family(FamilyOpts{Name: "b", Help: "B.", Kind: Gauge})
	mustNil(t, err)
	if again, _ := r.Family(FamilyOpts{Name: "b", Help: "B.", Kind: Gauge}); again != b {
		t.Error("a second request in the same version gave a different family")
	}
	mustNil(t, r.Swap([]*Family{a, b}))
	mustNil(t, a.Add(nil, 1, t0))
	mustNil(t, b.Set(nil, 7, t0))
	want := "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n# HELP b B.\n# TYPE b gauge\nb 7\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	// Expire reaches installed families.
	r.Expire(t0.Add(2 * time.Minute))
	if a.Len() != 0 || b.Len() != 1 {
		t.Errorf("after Expire: a.Len = %d, b.Len = %d", a.Len(), b.Len())
	}

	// A version without b removes it, and its logmeter_series row.
	a2, err := r.Family(FamilyOpts{Name: "a_total", Help: "A.", Kind: Counter})
	mustNil(t, err)
	mustNil(t, r.Swap([]*Family{a2}))
	if err := testutil.GatherAndCompare(reg, strings.NewReader("")); err != nil {
		t.Error(err)
	}
	want = "# HELP logmeter_series Label sets a rule metric currently holds.\n# TYPE logmeter_series gauge\nlogmeter_series{metric=\"a_total\"} 0\n"
	if err := testutil.GatherAndCompare(selfReg, strings.NewReader(want), "logmeter_series"); err != nil {
		t.Error(err)
	}

	// Two different families of one name are refused and change nothing.
	x, _ := NewFamily(FamilyOpts{Name: "a_total", Kind: Gauge}, nil)
	if err := r.Swap([]*Family{a2, x}); err == nil || !strings.Contains(err.Error(), "defined twice") {
		t.Errorf("Swap with a duplicate name: %v", err)
	}
	if got := r.families(); len(got) != 1 || got[0] != a2 {
		t.Error("a refused Swap changed the installed families")
	}
}

// A rejected version (Family called, Swap never) must not disturb the next one.
func TestRegistryRejectedVersion(t *testing.T) {
	r := NewRegistry(nil)
	opts := FamilyOpts{Name: "c_total", Kind: Counter}
	f1, _ := r.Family(opts)
	mustNil(t, r.Swap([]*Family{f1}))
	mustNil(t, f1.Add(nil, 2, t0))
	bad := opts
	bad.Kind = Gauge
	if g, _ := r.Family(bad); g == f1 {
		t.Fatal("incompatible opts reused the family")
	}
	// The rejected version is abandoned; the next one asks for the old opts.
	f2, err := r.Family(opts)
	mustNil(t, err)
	if f2 != f1 {
		t.Error("the installed family was not carried over after a rejected version")
	}
}

func TestRegistryBadOpts(t *testing.T) {
	if _, err := NewRegistry(nil).Family(FamilyOpts{Name: "bad name", Kind: Counter}); err == nil {
		t.Error("want an error for an invalid name")
	}
}
