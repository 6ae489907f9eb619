package tail

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// Watcher turns file-system events in the directories that hold followed
// files (and the fixed parts of the input globs) into wake-ups, and
// remembers which files the events named, so that a wake-up reads those
// files instead of checking every followed one. Polling stays the safety
// net: events can be missed (overflow, network file systems).
type Watcher struct {
	w    *fsnotify.Watcher
	dirs map[string]bool
	wake chan struct{}
	log  *slog.Logger

	mu      sync.Mutex
	touched Touched
}

// Touched is what events reported since the last Take.
type Touched struct {
	// Files maps the paths events named to whether the file was more than
	// written to (created, renamed, removed, its mode changed): such a
	// path is checked for rotation, a written one only for new data.
	Files map[string]bool
	// All says events were lost, or too many files were named to keep
	// track of: every followed file should be checked.
	All bool
	// Created says a file appeared: worth a scan for new files.
	Created bool
}

// maxTouched bounds the paths remembered between two Takes; past it, a
// full poll is cheaper than the bookkeeping.
const maxTouched = 4096

// NewWatcher returns a Watcher; when the platform has no notification
// facility it returns an error and the Tailer simply polls.
func NewWatcher(log *slog.Logger) (*Watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	return &Watcher{w: w, dirs: map[string]bool{}, wake: make(chan struct{}, 1), log: log}, nil
}

// Wake delivers a value after events; it never holds more than one.
func (w *Watcher) Wake() <-chan struct{} { return w.wake }

// Take returns what happened since the last Take and starts afresh.
func (w *Watcher) Take() Touched {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.touched
	w.touched = Touched{}
	return t
}

// Run forwards events until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	defer w.w.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			w.note(ev)
			w.signal()
		case err, ok := <-w.w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.mu.Lock()
				w.touched.All = true
				w.mu.Unlock()
				w.signal()
			}
			w.log.Debug("file notification error; polling covers it", "err", err)
		}
	}
}

func (w *Watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// note records one event.
func (w *Watcher) note(ev fsnotify.Event) {
	moved := ev.Op != fsnotify.Write
	w.mu.Lock()
	defer w.mu.Unlock()
	t := &w.touched
	if ev.Has(fsnotify.Create) {
		t.Created = true
	}
	if t.All {
		return
	}
	if len(t.Files) >= maxTouched {
		t.All, t.Files = true, nil
		return
	}
	if t.Files == nil {
		t.Files = map[string]bool{}
	}
	t.Files[ev.Name] = t.Files[ev.Name] || moved
}

// Watch makes the watched directories exactly dirs.
func (w *Watcher) Watch(dirs []string) {
	want := map[string]bool{}
	for _, d := range dirs {
		want[d] = true
	}
	for d := range w.dirs {
		if !want[d] {
			_ = w.w.Remove(d)
			delete(w.dirs, d)
		}
	}
	for d := range want {
		if w.dirs[d] {
			continue
		}
		if err := w.w.Add(d); err == nil {
			w.dirs[d] = true
		}
	}
}

// Dirs lists the directories worth watching: those of followed files (and
// of their symlink targets, where writes actually happen) and the fixed
// leading part of every input glob (where new files appear).
func (t *Tailer) Dirs() []string {
	set := map[string]bool{}
	for _, f := range t.followers {
		set[filepath.Dir(f.path)] = true
		set[filepath.Dir(f.real)] = true
	}
	for _, in := range t.inputs {
		for _, p := range in.Paths {
			set[globBase(p)] = true
		}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	return out
}

// globBase is the directory part of a glob before its first wildcard.
func globBase(pattern string) string {
	dir := filepath.Dir(pattern)
	for strings.ContainsAny(dir, "*?[") {
		dir = filepath.Dir(dir)
	}
	return dir
}
