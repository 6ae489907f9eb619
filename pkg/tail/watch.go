package tail

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// Watcher turns file-system events in the directories that hold followed
// files (and the fixed parts of the input globs) into wake-ups, so new data
// is read at once instead of at the next poll. Polling stays the safety
// net: events can be missed (overflow, network file systems).
type Watcher struct {
	w    *fsnotify.Watcher
	dirs map[string]bool
	wake chan struct{}
	log  *slog.Logger
}

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

// Run forwards events until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	defer w.w.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-w.w.Events:
			if !ok {
				return
			}
			select {
			case w.wake <- struct{}{}:
			default:
			}
		case err, ok := <-w.w.Errors:
			if !ok {
				return
			}
			w.log.Debug("file notification error; polling covers it", "err", err)
		}
	}
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
		if real, err := filepath.EvalSymlinks(f.path); err == nil {
			set[filepath.Dir(real)] = true
		}
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
