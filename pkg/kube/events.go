package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/logmeter/logmeter/internal/atomicfile"
)

// Event log files in EventsOptions.Dir. The log is in CRI format, so the
// line's time is the event's and the rest is one JSON object: the tailer
// reads it like any container log, rules match it, and the forwarder ships
// it, with the same checkpoints and the same no-loss guarantees.
const (
	EventLogName   = "events.log"
	eventStateName = "events-state.json"
)

// EventsOptions configure Events.
type EventsOptions struct {
	Client kubernetes.Interface
	// Dir holds the event log and the record of events already written.
	Dir string
	// MaxFileBytes rotates the event log (to events.log.1) past this size.
	MaxFileBytes int64
	// Window bounds how far back a replica with no fresh saved state
	// writes events it finds at start (a first start, or a takeover from
	// another replica): the ones observed within Window.
	Window time.Duration
	// SaveEvery is how often the record of written events is saved.
	SaveEvery time.Duration
	// Counter (labels namespace, kind, type, reason) counts occurrences.
	Counter *prometheus.CounterVec
	Logger  *slog.Logger
	Clock   func() time.Time
}

// Events writes the cluster's Kubernetes events as lines of the event log,
// each new event and each update (a repeat raises its count) once. What
// was written is saved beside the log, so a restart neither repeats nor
// skips events.
type Events struct {
	o EventsOptions

	mu     sync.Mutex // guards the fields below: handlers and the saver
	seen   map[string]seenEvent
	cutoff time.Time // events of the first list older than this are not written
	file   *os.File
	size   int64
	dirty  bool
	closed bool
	buf    []byte
	errAt  time.Time // last write error logged
}

// seenEvent is what is remembered of an event written (or deliberately
// skipped): the version written and its occurrence count.
type seenEvent struct {
	RV    string    `json:"rv"`
	Count int32     `json:"count"`
	At    time.Time `json:"at"`
}

type eventState struct {
	Saved time.Time            `json:"saved"`
	Seen  map[string]seenEvent `json:"seen"` // by event UID
}

// NewEvents prepares Events; Run starts them.
func NewEvents(o EventsOptions) *Events {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 16 << 20
	}
	if o.Window <= 0 {
		o.Window = 5 * time.Minute
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = 5 * time.Second
	}
	return &Events{o: o}
}

// Run watches events cluster-wide and writes them until ctx is done, then
// saves what it wrote and returns.
func (e *Events) Run(ctx context.Context) error {
	if err := e.open(); err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(e.o.Client, 0, informers.WithTransform(trimEvent))
	inf := factory.Core().V1().Events().Informer()
	if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		e.o.Logger.Warn("Kubernetes events watch failed; retrying with backoff", "err", err)
	}); err != nil {
		return fmt.Errorf("kubernetes events: %w", err)
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    func(obj any, initial bool) { e.observe(obj, initial) },
		UpdateFunc: func(_, obj any) { e.observe(obj, false) },
		DeleteFunc: e.forget,
	}); err != nil {
		return fmt.Errorf("kubernetes events: %w", err)
	}
	factory.Start(ctx.Done())
	if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		e.prune(inf.GetStore().List())
	}
	tick := time.NewTicker(e.o.SaveEvery)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			if err := e.save(false); err != nil {
				e.o.Logger.Error("cannot save the record of written events", "err", err)
			}
		}
	}
	factory.Shutdown()
	return e.save(true)
}

// open loads the saved record and opens the event log for appending.
func (e *Events) open() error {
	st, err := loadEventState(e.o.Dir)
	if err != nil {
		e.o.Logger.Warn("ignoring the saved record of written events", "err", err)
	}
	// Events of the first list that the record holds were handled (written,
	// or deliberately skipped); the others are written when observed within
	// Window: what happened while this process was down, however late its
	// reporter stamped it. Older ones were another replica's to write, or
	// predate logmeter. (Elasticsearch stores a rewritten event once: its
	// _id comes from the line.)
	cutoff := e.o.Clock().Add(-e.o.Window)
	if err := os.MkdirAll(e.o.Dir, 0o750); err != nil {
		return fmt.Errorf("kubernetes events: %w", err)
	}
	f, err := openEventLog(filepath.Join(e.o.Dir, EventLogName))
	if err != nil {
		return fmt.Errorf("kubernetes events: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("kubernetes events: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen, e.cutoff, e.file, e.size, e.closed = st.Seen, cutoff, f, fi.Size(), false
	if e.seen == nil {
		e.seen = map[string]seenEvent{}
	}
	return nil
}

func loadEventState(dir string) (eventState, error) {
	var st eventState
	data, err := os.ReadFile(filepath.Join(dir, eventStateName))
	if err != nil {
		if os.IsNotExist(err) {
			return st, nil
		}
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return eventState{}, fmt.Errorf("%s: %w", eventStateName, err)
	}
	return st, nil
}

// trimEvent drops what logmeter never reads of an event (managed fields,
// annotations) before the informer stores it.
func trimEvent(obj any) (any, error) {
	if ev, ok := obj.(*corev1.Event); ok {
		ev.ManagedFields = nil
		ev.Annotations = nil
	}
	return obj, nil
}

// observe writes an added or updated event unless that version was
// written already.
func (e *Events) observe(obj any, initial bool) {
	ev, ok := obj.(*corev1.Event)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	uid := string(ev.UID)
	prev, had := e.seen[uid]
	if had && prev.RV == ev.ResourceVersion {
		return
	}
	at, count := eventTime(ev), occurrences(ev)
	e.seen[uid] = seenEvent{RV: ev.ResourceVersion, Count: count, At: at}
	e.dirty = true
	if initial && at.Before(e.cutoff) {
		return
	}
	e.buf = appendEventLine(e.buf[:0], ev, at, count)
	if err := e.write(e.buf); err != nil {
		// The event stays recorded as seen: retrying every event against
		// a full disk would only repeat the error.
		if now := e.o.Clock(); now.Sub(e.errAt) > time.Minute {
			e.errAt = now
			e.o.Logger.Error("cannot write a Kubernetes event to the event log", "err", err)
		}
		return
	}
	if e.o.Counter != nil {
		// Occurrences: the whole count of an event seen first, the growth
		// of the count of one seen before (an update may not raise it).
		n := count
		if had {
			n = max(count-prev.Count, 0)
		}
		e.o.Counter.WithLabelValues(objectNamespace(ev), ev.InvolvedObject.Kind, ev.Type, ev.Reason).Add(float64(n))
	}
}

// forget drops a deleted event (they expire after an hour by default).
func (e *Events) forget(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	ev, ok := obj.(*corev1.Event)
	if !ok {
		return
	}
	e.mu.Lock()
	delete(e.seen, string(ev.UID))
	e.dirty = true
	e.mu.Unlock()
}

// prune drops remembered events that no longer exist (deleted while this
// process was down).
func (e *Events) prune(current []any) {
	live := make(map[string]bool, len(current))
	for _, obj := range current {
		if ev, ok := obj.(*corev1.Event); ok {
			live[string(ev.UID)] = true
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for uid := range e.seen {
		if !live[uid] {
			delete(e.seen, uid)
			e.dirty = true
		}
	}
}

// write appends one line, rotating the log first when it would grow past
// MaxFileBytes (the tailer reads a renamed file to its end).
func (e *Events) write(line []byte) error {
	if e.size > 0 && e.size+int64(len(line)) > e.o.MaxFileBytes {
		if err := e.rotate(); err != nil {
			return err
		}
	}
	n, err := e.file.Write(line)
	if err != nil && n > 0 {
		// A short write (full disk) must not leave half a line for the next
		// one to be glued to.
		if terr := e.file.Truncate(e.size); terr != nil {
			e.size += int64(n)
			return fmt.Errorf("%w (and the partial line could not be removed: %v)", err, terr)
		}
		return err
	}
	e.size += int64(n)
	return err
}

func (e *Events) rotate() error {
	path := filepath.Join(e.o.Dir, EventLogName)
	if err := e.file.Sync(); err != nil {
		return fmt.Errorf("rotate event log: %w", err)
	}
	// A rename that happened before a failed open (retried now) left no
	// events.log: go on to create it.
	if err := os.Rename(path, path+".1"); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("rotate event log: %w", err)
	}
	f, err := openEventLog(path)
	if err != nil {
		return fmt.Errorf("rotate event log: %w", err)
	}
	e.file.Close()
	e.file, e.size = f, 0
	return nil
}

// openEventLog opens (creating it if needed) the event log for appending.
func openEventLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
}

// save syncs the event log and then records what it holds, so the record
// never claims an event the log lost in a crash. With final it also closes
// the log.
func (e *Events) save(final bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	if final {
		e.closed = true
		defer e.file.Close()
	}
	if !e.dirty && !final {
		return nil
	}
	if err := e.file.Sync(); err != nil {
		return fmt.Errorf("sync event log: %w", err)
	}
	data, err := json.Marshal(eventState{Saved: e.o.Clock().UTC(), Seen: e.seen})
	if err != nil {
		return fmt.Errorf("encode %s: %w", eventStateName, err)
	}
	if err := atomicfile.Write(e.o.Dir, eventStateName, data); err != nil {
		return fmt.Errorf("kubernetes events: %w", err)
	}
	e.dirty = false
	return nil
}

// eventTime is when the event was last observed: the latest of the times
// the old and new event APIs record.
func eventTime(ev *corev1.Event) time.Time {
	t := ev.CreationTimestamp.Time
	for _, c := range []time.Time{ev.FirstTimestamp.Time, ev.LastTimestamp.Time, ev.EventTime.Time} {
		if c.After(t) {
			t = c
		}
	}
	if s := ev.Series; s != nil && s.LastObservedTime.After(t) {
		t = s.LastObservedTime.Time
	}
	return t
}

// occurrences is how often the event happened so far.
func occurrences(ev *corev1.Event) int32 {
	n := ev.Count
	if s := ev.Series; s != nil && s.Count > n {
		n = s.Count
	}
	return max(n, 1)
}

// objectNamespace is the namespace of the object the event is about, or
// the event's own for cluster-scoped objects.
func objectNamespace(ev *corev1.Event) string {
	if ev.InvolvedObject.Namespace != "" {
		return ev.InvolvedObject.Namespace
	}
	return ev.Namespace
}

// EventLine is the JSON object written for each event. Every key is always
// present and in this order, so rules can rely on the layout; message comes
// last because it is free text.
type EventLine struct {
	Type            string    `json:"type"`
	Reason          string    `json:"reason"`
	Namespace       string    `json:"namespace"`
	Kind            string    `json:"kind"`
	Name            string    `json:"name"`
	FieldPath       string    `json:"field_path"`
	Component       string    `json:"component"`
	Host            string    `json:"host"`
	Count           int32     `json:"count"`
	FirstSeen       time.Time `json:"first_seen"`
	LastSeen        time.Time `json:"last_seen"`
	ObjectUID       string    `json:"object_uid"`
	Event           string    `json:"event"` // the Event object's name
	EventUID        string    `json:"event_uid"`
	ResourceVersion string    `json:"resource_version"`
	Message         string    `json:"message"`
}

// appendEventLine appends the CRI-format line for ev: its time, the stream
// stdout, a full-line tag and the JSON object.
func appendEventLine(dst []byte, ev *corev1.Event, at time.Time, count int32) []byte {
	first := ev.FirstTimestamp.Time
	if first.IsZero() {
		first = firstNonZero(ev.EventTime.Time, ev.CreationTimestamp.Time)
	}
	l := EventLine{
		Type:            ev.Type,
		Reason:          ev.Reason,
		Namespace:       objectNamespace(ev),
		Kind:            ev.InvolvedObject.Kind,
		Name:            ev.InvolvedObject.Name,
		FieldPath:       ev.InvolvedObject.FieldPath,
		Component:       firstNonEmpty(ev.Source.Component, ev.ReportingController),
		Host:            firstNonEmpty(ev.Source.Host, ev.ReportingInstance),
		Count:           count,
		FirstSeen:       first.UTC(),
		LastSeen:        at.UTC(),
		ObjectUID:       string(ev.InvolvedObject.UID),
		Event:           ev.Name,
		EventUID:        string(ev.UID),
		ResourceVersion: ev.ResourceVersion,
		Message:         ev.Message,
	}
	dst = at.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, " stdout F "...)
	// Messages keep their < > & as written (json.Marshal would escape them).
	b := bytes.NewBuffer(dst)
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(&l) // cannot fail: strings, numbers and times; ends in '\n'
	return b.Bytes()
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstNonZero(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}
