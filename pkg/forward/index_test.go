package forward

import (
	"strings"
	"testing"
	"time"
)

func mustIndex(t *testing.T, pattern string) *indexName {
	t.Helper()
	n, err := parseIndexName(pattern)
	if err != nil {
		t.Fatalf("parseIndexName(%q): %v", pattern, err)
	}
	return n
}

func TestIndexNameDaily(t *testing.T) {
	plus2 := time.FixedZone("+02:00", 2*3600)
	minus5 := time.FixedZone("-05:00", -5*3600)
	for _, tc := range []struct {
		ts   time.Time
		want string
	}{
		{time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), "logstash-2024.05.01"},
		{time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), "logstash-2024.05.01"},
		{time.Date(2024, 5, 1, 23, 59, 59, 999999999, time.UTC), "logstash-2024.05.01"},
		{time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC), "logstash-2024.12.31"},
		{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "logstash-2025.01.01"},
		{time.Date(2024, 2, 29, 8, 0, 0, 0, time.UTC), "logstash-2024.02.29"},
		// Near midnight in +02:00: the index follows the UTC day.
		{time.Date(2024, 5, 2, 0, 30, 0, 0, plus2), "logstash-2024.05.01"},
		{time.Date(2024, 5, 1, 23, 30, 0, 0, plus2), "logstash-2024.05.01"},
		{time.Date(2024, 5, 2, 1, 59, 59, 0, plus2), "logstash-2024.05.01"},
		{time.Date(2024, 5, 2, 2, 0, 0, 0, plus2), "logstash-2024.05.02"},
		{time.Date(2024, 5, 1, 20, 0, 0, 0, minus5), "logstash-2024.05.02"},
		{time.Date(999, 1, 2, 0, 0, 0, 0, time.UTC), "logstash-0999.01.02"},
	} {
		// Fresh and cached names agree.
		if got := mustIndex(t, "logstash-%{+yyyy.MM.dd}").name(tc.ts); got != tc.want {
			t.Errorf("fresh name(%v) = %q, want %q", tc.ts, got, tc.want)
		}
	}
}

// The cache keeps one day's name: alternating days, zones and going back
// in time must not return a stale name.
func TestIndexNameCache(t *testing.T) {
	n := mustIndex(t, "logs-%{+yyyy.MM.dd}")
	plus2 := time.FixedZone("+02:00", 2*3600)
	seq := []struct {
		ts   time.Time
		want string
	}{
		{time.Date(2024, 5, 1, 23, 59, 59, 0, time.UTC), "logs-2024.05.01"},
		{time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), "logs-2024.05.02"},
		{time.Date(2024, 5, 2, 1, 0, 0, 0, plus2), "logs-2024.05.01"},
		{time.Date(2024, 5, 2, 3, 0, 0, 0, plus2), "logs-2024.05.02"},
		{time.Date(2023, 5, 2, 3, 0, 0, 0, time.UTC), "logs-2023.05.02"},
		{time.Date(2024, 5, 2, 3, 0, 0, 0, time.UTC), "logs-2024.05.02"},
	}
	for range 2 {
		for _, s := range seq {
			if got := n.name(s.ts); got != s.want {
				t.Errorf("name(%v) = %q, want %q", s.ts, got, s.want)
			}
		}
	}
}

// Before 1970 the day number is negative; integer division must not put
// 1969-12-31 and 1970-01-01 into the same cache slot.
func TestIndexNameBefore1970(t *testing.T) {
	n := mustIndex(t, "logs-%{+yyyy.MM.dd}")
	if got := n.name(time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC)); got != "logs-1969.12.31" {
		t.Errorf("fresh name for 1969-12-31 = %q", got)
	}
	n = mustIndex(t, "logs-%{+yyyy.MM.dd}")
	_ = n.name(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC))
	// Days before 1970 have cache keys of their own (floored division).
	if got := n.name(time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC)); got != "logs-1969.12.31" {
		t.Errorf("after 1970-01-01, name for 1969-12-31 = %q, want logs-1969.12.31", got)
	}
}

func TestIndexNameISOWeek(t *testing.T) {
	for _, tc := range []struct {
		ts   time.Time
		want string
	}{
		{time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), "logs-2024.18"},
		// 2021-01-03 is a Sunday: ISO week 53 of 2020.
		{time.Date(2021, 1, 3, 12, 0, 0, 0, time.UTC), "logs-2020.53"},
		{time.Date(2021, 1, 4, 0, 0, 0, 0, time.UTC), "logs-2021.01"},
		// 2024-12-30 is a Monday: week 1 of 2025.
		{time.Date(2024, 12, 30, 0, 0, 0, 0, time.UTC), "logs-2025.01"},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "logs-2026.01"},
		// Sunday 23:30 at +02:00 is still Sunday in UTC; Monday 01:00 at
		// +02:00 is Sunday 23:00 UTC.
		{time.Date(2021, 1, 4, 1, 0, 0, 0, time.FixedZone("+02:00", 2*3600)), "logs-2020.53"},
	} {
		n := mustIndex(t, "logs-%{+xxxx.ww}")
		if got := n.name(tc.ts); got != tc.want {
			t.Errorf("name(%v) = %q, want %q", tc.ts, got, tc.want)
		}
	}
	// One cached instance across a week boundary.
	n := mustIndex(t, "logs-%{+xxxx.ww}")
	if a, b := n.name(time.Date(2021, 1, 3, 23, 59, 0, 0, time.UTC)), n.name(time.Date(2021, 1, 4, 0, 1, 0, 0, time.UTC)); a != "logs-2020.53" || b != "logs-2021.01" {
		t.Errorf("across the week boundary: %q, %q", a, b)
	}
}

func TestIndexNameOtherFormats(t *testing.T) {
	ts := time.Date(2024, 3, 5, 7, 8, 9, 0, time.UTC)
	for _, tc := range []struct{ pattern, want string }{
		{"logs-%{+YYYY.MM.dd}", "logs-2024.03.05"},
		{"logs-%{+yy.M.d}", "logs-24.3.5"},
		{"logs-%{+yyyy-MM-dd_HH}", "logs-2024-03-05_07"},
		{"logs-%{+yyyy.MM.dd.HH.mm.ss}", "logs-2024.03.05.07.08.09"},
		{"%{+yyyy}-logs-%{+MM}", "2024-logs-03"},
		{"logs-%{+yyyy.MM}-app", "logs-2024.03-app"},
	} {
		n := mustIndex(t, tc.pattern)
		if got := n.name(ts); got != tc.want {
			t.Errorf("%q: name = %q, want %q", tc.pattern, got, tc.want)
		}
	}
	// Hourly: the cache must not keep an hour's name for the next hour.
	n := mustIndex(t, "logs-%{+yyyy.MM.dd.HH}")
	if a, b := n.name(time.Date(2024, 3, 5, 7, 59, 59, 0, time.UTC)), n.name(time.Date(2024, 3, 5, 8, 0, 0, 0, time.UTC)); a != "logs-2024.03.05.07" || b != "logs-2024.03.05.08" {
		t.Errorf("hourly across the hour: %q, %q", a, b)
	}
}

func TestIndexNameFixed(t *testing.T) {
	for _, p := range []string{"logs", "logs-app-default", "my%index", "a%{b}", "logs-%{yyyy}"} {
		n := mustIndex(t, p)
		for _, ts := range []time.Time{time.Unix(0, 0), time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), {}} {
			if got := n.name(ts); got != p {
				t.Errorf("fixed %q: name(%v) = %q", p, ts, got)
			}
		}
	}
}

func TestIndexNameBadPatterns(t *testing.T) {
	for _, p := range []string{
		"logs-%{+yyyy.MM.dd",
		"logs-%{+",
		"logs-%{+yyyy/MM/dd}",
		"logs-%{+yyyy.MM.dd HH}",
		"logs-%{+yyyy.DDD}",
		"logs-%{+EEE}",
		"logs-%{+yyyy.MM.dd}-%{+Q}",
	} {
		if _, err := parseIndexName(p); err == nil {
			t.Errorf("parseIndexName(%q): no error", p)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("parseIndexName(%q): error %q does not name the pattern", p, err)
		}
	}
}

// Patterns that parse but cannot name an index sensibly.
func TestIndexNameDegenerate(t *testing.T) {
	ts := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	// An empty %{+} and an empty name are refused.
	for _, bad := range []string{"logs-%{+}-x", ""} {
		if _, err := parseIndexName(bad); err == nil {
			t.Errorf("parseIndexName(%q) accepted", bad)
		}
	}
	_ = ts
}

func BenchmarkIndexNameCached(b *testing.B) {
	n, _ := parseIndexName("logstash-%{+yyyy.MM.dd}")
	ts := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		ts = ts.Add(time.Millisecond)
		_ = n.name(ts)
	}
}
