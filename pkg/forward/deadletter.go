package forward

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// deadLetterFile holds documents Elasticsearch rejected for good (mapping
// errors, bad requests), one JSON object per line with the reason, so no
// line is silently lost. It is bounded: past maxBytes it is moved to .1.
const deadLetterFile = "dead-letter.ndjson"

type deadLetter struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	f        *os.File
	size     int64
	logged   map[string]bool // error types logged once
}

func newDeadLetter(dir string, maxBytes int64) *deadLetter {
	d := &deadLetter{maxBytes: maxBytes, logged: map[string]bool{}}
	if dir != "" {
		d.path = filepath.Join(dir, deadLetterFile)
	}
	return d
}

// write records one rejected item (its action and source lines).
func (d *deadLetter) write(item []byte, r ItemResult, log *slog.Logger) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.logged[r.ErrType] {
		d.logged[r.ErrType] = true
		log.Error("Elasticsearch rejected a document; it goes to the dead-letter file (logged once per error type)",
			"status", r.Status, "type", r.ErrType, "reason", r.Reason, "file", d.path)
	}
	if d.path == "" {
		return
	}
	rec, err := json.Marshal(struct {
		Time   time.Time `json:"time"`
		Status int       `json:"status"`
		Type   string    `json:"error_type"`
		Reason string    `json:"error_reason"`
		Item   string    `json:"item"`
	}{time.Now().UTC(), r.Status, r.ErrType, r.Reason, string(item)})
	if err != nil {
		return
	}
	rec = append(rec, '\n')
	if err := d.open(); err != nil {
		log.Error("cannot write the dead-letter file", "err", err)
		return
	}
	if d.size+int64(len(rec)) > d.maxBytes {
		d.f.Close()
		d.f = nil
		_ = os.Rename(d.path, d.path+".1")
		if err := d.open(); err != nil {
			log.Error("cannot write the dead-letter file", "err", err)
			return
		}
	}
	n, err := d.f.Write(rec)
	d.size += int64(n)
	if err != nil {
		log.Error("cannot write the dead-letter file", "err", err)
	}
}

func (d *deadLetter) open() error {
	if d.f != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(d.path), 0o750); err != nil {
		return fmt.Errorf("dead-letter directory: %w", err)
	}
	f, err := os.OpenFile(d.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("open dead-letter file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open dead-letter file: %w", err)
	}
	d.f, d.size = f, fi.Size()
	return nil
}

func (d *deadLetter) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
}
