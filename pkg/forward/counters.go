package forward

import (
	"encoding/json"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// savedCounters are the forwarder's self-metric counters as of its last
// checkpoint, saved with its positions so that they continue across
// restarts (rate() sees no reset). Documents sent again after a crash are
// counted again: they were sent again.
type savedCounters struct {
	Sent      float64 `json:"sent"`
	Failed    float64 `json:"failed"`
	Retried   float64 `json:"retried"`
	Dropped   float64 `json:"dropped"`
	LostBytes float64 `json:"lost_bytes"`
}

// counters pairs each saved field with its counter.
func (f *Forwarder) counters(s *savedCounters) map[*float64]prometheus.Counter {
	return map[*float64]prometheus.Counter{
		&s.Sent: f.sent, &s.Failed: f.failed, &s.Retried: f.retried, &s.Dropped: f.dropped, &s.LostBytes: f.lostBytes,
	}
}

// restoreCounters adds what the last checkpoint saved to the counters. A
// checkpoint without counters, or an unreadable one, restores nothing.
func (f *Forwarder) restoreCounters(raw json.RawMessage) {
	if len(raw) == 0 || f.sent == nil {
		return
	}
	var s savedCounters
	if err := json.Unmarshal(raw, &s); err != nil {
		f.log.Warn("forward checkpoint: ignoring its counters", "err", err)
		return
	}
	for v, c := range f.counters(&s) {
		if *v > 0 {
			c.Add(*v)
		}
	}
}

// saveCounters is the checkpoint's extra: the counters now. It runs in the
// reading goroutine after every batch was confirmed, so the values match
// the positions saved with them.
func (f *Forwarder) saveCounters() json.RawMessage {
	if f.sent == nil {
		return nil
	}
	var s savedCounters
	for v, c := range f.counters(&s) {
		var m dto.Metric
		if c.Write(&m) == nil {
			*v = m.GetCounter().GetValue()
		}
	}
	data, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	return data
}
