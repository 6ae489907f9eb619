package tail

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func TestPollFilesReadsTheNamedFilesOnly(t *testing.T) {
	h := newHarness(t, plainInput("*.log"))
	h.write("a.log", "a1\n")
	h.write("b.log", "b1\n")
	h.cycle()
	h.expect("a1", "b1")
	h.write("a.log", "a2\n")
	h.write("b.log", "b2\n")
	for h.tl.PollFiles(map[string]bool{h.path("a.log"): false}) {
	}
	h.expect("a2")
	for h.tl.Poll() {
	}
	h.expect("b2")
}

func TestPollFilesHandlesRotationAndTruncation(t *testing.T) {
	tests := []struct {
		name   string
		rotate func(h *harness)
		event  map[string]bool // relative path -> moved
		want   []string
	}{
		{
			name: "rename and create",
			rotate: func(h *harness) {
				h.rename("a.log", "a.log.1")
				h.write("a.log", "new\n")
				h.write("a.log.1", "late\n") // the writer had not reopened yet
			},
			event: map[string]bool{"a.log": true, "a.log.1": true},
			want:  []string{"2", "late", "new"},
		},
		{
			name: "copytruncate seen as a write",
			rotate: func(h *harness) {
				h.copyTruncate("a.log", "a.log.1")
				h.write("a.log", "new\n")
			},
			event: map[string]bool{"a.log": false},
			want:  []string{"2", "new"},
		},
		{
			name: "truncated and written past the old end",
			rotate: func(h *harness) {
				if err := os.Truncate(h.path("a.log"), 0); err != nil {
					h.t.Fatal(err)
				}
				h.write("a.log", "fresh content, longer than before\n")
			},
			event: map[string]bool{"a.log": false},
			want:  []string{"fresh content, longer than before"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, plainInput("a.log"))
			h.write("a.log", "1\n")
			h.cycle()
			h.expect("1")
			h.write("a.log", "2\n")
			if tc.name == "truncated and written past the old end" {
				h.cycle()
				h.expect("2")
			}
			tc.rotate(h)
			files := map[string]bool{}
			for p, moved := range tc.event {
				files[h.path(p)] = moved
			}
			for h.tl.PollFiles(files) {
			}
			h.expect(tc.want...)
		})
	}
}

// Container runtimes write to the symlinks' targets, so events name those.
func TestPollFilesFindsSymlinkedFilesByTheirTarget(t *testing.T) {
	h := newHarness(t, Input{Name: "containers", Paths: []string{"containers/*.log"}, Format: FormatCRI, StartAt: StartAtBeginning})
	target := "pods/shop_web_1/nginx/0.log"
	h.write(target, "2024-05-01T12:00:00Z stdout F one\n")
	h.link(target, "containers/web_shop_nginx-abc.log")
	h.cycle()
	h.expect("one")
	h.write(target, "2024-05-01T12:00:01Z stdout F two\n")
	for h.tl.PollFiles(map[string]bool{h.path(target): false}) {
	}
	h.expect("two")
}

func TestCheckpointOnlyWhenSomethingChanged(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	if !h.tl.Changed() {
		t.Error("a new tailer has nothing to skip: its first checkpoint is due")
	}
	h.write("a.log", "1\n")
	h.cycle()
	if err := h.tl.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	if h.tl.Changed() {
		t.Error("changed right after a checkpoint")
	}
	h.cycle()
	if h.tl.Changed() {
		t.Error("changed after a poll that read nothing")
	}
	h.write("a.log", "2\n")
	h.cycle()
	if !h.tl.Changed() {
		t.Error("not changed after reading a line")
	}
	if err := h.tl.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	h.rename("a.log", "a.log.1")
	h.now = h.now.Add(6 * time.Second) // past the drain grace
	h.cycle()
	if !h.tl.Changed() {
		t.Error("not changed after a rotated file was let go")
	}
}

func TestWatcherRemembersWhatEventsNamed(t *testing.T) {
	ev := func(name string, op fsnotify.Op) fsnotify.Event { return fsnotify.Event{Name: name, Op: op} }
	tests := []struct {
		name   string
		events []fsnotify.Event
		want   Touched
	}{
		{"nothing", nil, Touched{}},
		{"writes", []fsnotify.Event{ev("/l/a", fsnotify.Write), ev("/l/a", fsnotify.Write), ev("/l/b", fsnotify.Write)},
			Touched{Files: map[string]bool{"/l/a": false, "/l/b": false}}},
		{"a rename wins over writes", []fsnotify.Event{ev("/l/a", fsnotify.Write), ev("/l/a", fsnotify.Rename), ev("/l/a", fsnotify.Write)},
			Touched{Files: map[string]bool{"/l/a": true}}},
		{"create", []fsnotify.Event{ev("/l/new", fsnotify.Create)},
			Touched{Files: map[string]bool{"/l/new": true}, Created: true}},
		{"chmod and remove", []fsnotify.Event{ev("/l/a", fsnotify.Chmod), ev("/l/b", fsnotify.Remove)},
			Touched{Files: map[string]bool{"/l/a": true, "/l/b": true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &Watcher{}
			for _, e := range tc.events {
				w.note(e)
			}
			got := w.Take()
			if got.All != tc.want.All || got.Created != tc.want.Created || len(got.Files) != len(tc.want.Files) {
				t.Fatalf("Take() = %+v, want %+v", got, tc.want)
			}
			for p, moved := range tc.want.Files {
				if m, ok := got.Files[p]; !ok || m != moved {
					t.Errorf("Files[%q] = %v, %v; want %v", p, m, ok, moved)
				}
			}
			if again := w.Take(); again.All || again.Created || len(again.Files) != 0 {
				t.Errorf("second Take() = %+v, want nothing", again)
			}
		})
	}
}

func TestWatcherGivesUpNamingFilesPastItsBound(t *testing.T) {
	w := &Watcher{}
	for i := range maxTouched + 1 {
		w.note(fsnotify.Event{Name: string(rune('a'+i%26)) + string(rune(i)), Op: fsnotify.Write})
	}
	if got := w.Take(); !got.All || got.Files != nil {
		t.Errorf("after %d files: All = %v, %d files kept; want All and none", maxTouched+1, got.All, len(got.Files))
	}
}

func TestAProblemPathIsReportedForEachInputThatWantsIt(t *testing.T) {
	a, b := plainInput("*.log"), plainInput("x*.log")
	a.Name, b.Name = "a", "b"
	h := newHarness(t, a, b)
	if err := os.Mkdir(h.path("x.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	h.cycle()
	for _, in := range []string{"a", "b"} {
		if got := h.counter(h.self.FileErrors.WithLabelValues(in, FileNotRegular)); got != 1 {
			t.Errorf("input %s: not_regular = %v, want 1", in, got)
		}
	}
}

// A read error (here: a descriptor that cannot be read as a file) is
// counted once while it lasts and again when it comes back after a read
// succeeded.
func TestReadErrorsAreCountedOncePerEpisode(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "1\n")
	h.cycle()
	h.expect("1")
	f := h.tl.followers[0]
	good := f.f
	bad, err := os.Open(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	failures := h.self.FileErrors.WithLabelValues("in", FileReadFailed)
	episode := func() {
		f.f = bad
		for range 3 {
			f.size = f.offset + 10 // as if the file had grown
			h.tl.read(f)
		}
		f.f = good
	}
	episode()
	if got := h.counter(failures); got != 1 {
		t.Fatalf("read_failed = %v after one episode of three failed reads, want 1", got)
	}
	h.write("a.log", "2\n")
	h.cycle()
	h.expect("2")
	episode()
	if got := h.counter(failures); got != 2 {
		t.Errorf("read_failed = %v after a second episode, want 2", got)
	}
}

// Two rotations between looks: the file is copied and truncated, written
// again, then renamed away and replaced. Its rest before the truncation is
// in the copy, and what it got after it must be read from the start.
func TestTruncatedThenRenamedBetweenLooks(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "1\n")
	h.cycle()
	h.expect("1")
	h.write("a.log", "2\n3\n")
	h.copyTruncate("a.log", "a.log.1")
	h.write("a.log", "after the truncation, a longer line\n")
	h.rename("a.log.1", "a.log.2")
	h.rename("a.log", "a.log.1")
	h.write("a.log", "new file\n")
	h.cycle()
	h.expect("2", "3", "after the truncation, a longer line", "new file")
}

// Files created and rotated away while logmeter was not running are found
// at the restart next to the followed file and read, whatever happened to
// them: renamed once or twice, or copied by a copytruncate.
func TestGenerationsOfTheDowntimeAreRead(t *testing.T) {
	tests := []struct {
		name     string
		downtime func(h *harness)
		want     []string
	}{
		{
			name: "two renames",
			downtime: func(h *harness) {
				h.write("a.log", "a2\n")
				h.rename("a.log", "a.log.1")
				h.write("a.log", "b1\nb2\n")
				h.rename("a.log.1", "a.log.2")
				h.rename("a.log", "a.log.1")
				h.write("a.log", "c1\n")
			},
			want: []string{"a2", "b1", "b2", "c1"}, // oldest first
		},
		{
			name: "rename, then copytruncate of the new file",
			downtime: func(h *harness) {
				h.rename("a.log", "a.log.1")
				h.write("a.log", "b1\nb2\n")
				h.rename("a.log.1", "a.log.2")
				h.copyTruncate("a.log", "a.log.1")
				h.write("a.log", "c1\n")
			},
			want: []string{"b1", "b2", "c1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, plainInput("a.log"))
			h.write("a.log", "a1\n")
			h.cycle()
			h.expect("a1")
			if err := h.tl.Checkpoint(nil); err != nil {
				t.Fatal(err)
			}
			h.tl.Close()
			tc.downtime(h)
			h.start()
			h.cycle()
			h.expect(tc.want...)
			if lost := h.counter(h.self.RotationLostBytes.WithLabelValues("in")); lost != 0 {
				t.Errorf("lost bytes = %v, want 0", lost)
			}
		})
	}
}

// A copy read to its end before the checkpoint is not read again after a
// restart, however close its time is to the checkpoint's.
func TestCopiesReadBeforeTheCheckpointAreNotReadAgain(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "1\n")
	h.cycle()
	h.write("a.log", "2\n")
	h.copyTruncate("a.log", "a.log.1")
	h.write("a.log", "3\n")
	h.cycle()
	h.expect("1", "2", "3")
	if err := h.tl.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	h.tl.Close()
	h.start()
	h.cycle()
	h.expect()
}

// While logmeter was not running, the followed file was copied and
// truncated, written again, and then renamed away: the rest of what the
// checkpoint knew is in the copy, and the renamed file is all new.
func TestTruncatedThenRenamedWhileDown(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "1\n")
	h.cycle()
	h.expect("1")
	if err := h.tl.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	h.tl.Close()
	h.write("a.log", "2\n")
	h.copyTruncate("a.log", "a.log.1")
	h.write("a.log", "3\n")
	h.rename("a.log.1", "a.log.2")
	h.rename("a.log", "a.log.1")
	h.write("a.log", "4\n")
	h.start()
	h.cycle()
	got := slices.Sorted(slices.Values(h.lines))
	if want := []string{"2", "3", "4"}; !slices.Equal(got, want) {
		t.Errorf("lines = %q, want %q in some order", h.lines, want)
	}
	if lost := h.counter(h.self.RotationLostBytes.WithLabelValues("in")); lost != 0 {
		t.Errorf("lost bytes = %v, want 0", lost)
	}
}

// kubelet rotates the symlinks' targets: a restart finds the rotated
// target next to the new one, not next to the symlink.
func TestSymlinkTargetRotatedWhileDown(t *testing.T) {
	h := newHarness(t, Input{Name: "containers", Paths: []string{"containers/*.log"}, Format: FormatCRI, StartAt: StartAtBeginning})
	target := "pods/shop_web_1/nginx/0.log"
	h.write(target, "2024-05-01T12:00:00Z stdout F one\n")
	h.link(target, "containers/web_shop_nginx-abc.log")
	h.cycle()
	h.expect("one")
	if err := h.tl.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	h.tl.Close()
	h.write(target, "2024-05-01T12:00:01Z stdout F two\n")
	h.rename(target, target+".20240501-120001")
	h.write(target, "2024-05-01T12:00:02Z stdout F three\n")
	h.start()
	h.cycle()
	h.expect("two", "three")
}

// A rename and then a copytruncate of the new file, both before logmeter
// looked: the scan finds the new file first (already truncated); the lines
// it held before are in the copy, which must be found as a generation.
func TestRenameThenCopyTruncateSeenByTheScan(t *testing.T) {
	h := newHarness(t, plainInput("a.log"))
	h.write("a.log", "1\n")
	h.cycle()
	h.expect("1")
	h.write("a.log", "2\n")
	h.rename("a.log", "a.log.1")
	h.write("a.log", "3\n")
	h.rename("a.log.1", "a.log.2")
	h.copyTruncate("a.log", "a.log.1")
	h.write("a.log", "4\n")
	h.cycle() // Scan first, then Poll
	got := slices.Sorted(slices.Values(h.lines))
	if want := []string{"2", "3", "4"}; !slices.Equal(got, want) {
		t.Errorf("lines = %q, want %q in some order", h.lines, want)
	}
}

// An input whose directory does not exist is reported once, followed as
// soon as the directory appears, and reported again if it goes away.
func TestMissingInputDirectoryIsReportedOnceAndWatchedFor(t *testing.T) {
	h := newHarness(t, plainInput("later/*.log"))
	missing := h.self.FileErrors.WithLabelValues("in", FileMissingDir)
	h.cycle()
	h.cycle()
	if got := h.counter(missing); got != 1 {
		t.Errorf("missing_directory = %v after two scans, want 1", got)
	}
	h.write("later/a.log", "one\n")
	h.cycle()
	h.expect("one")
	if err := os.RemoveAll(h.path("later")); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	if got := h.counter(missing); got != 2 {
		t.Errorf("missing_directory = %v after the directory went away, want 2", got)
	}
}

// copyTruncate does what logrotate's copytruncate does: copy name to
// copyName, then truncate name.
func (h *harness) copyTruncate(name, copyName string) {
	h.t.Helper()
	data, err := os.ReadFile(h.path(name))
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(h.path(copyName), data, 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Truncate(h.path(name), 0); err != nil {
		h.t.Fatal(err)
	}
}

// link makes link a symlink to target, as /var/log/containers/ links into
// /var/log/pods/.
func (h *harness) link(target, link string) {
	h.t.Helper()
	if err := os.MkdirAll(filepath.Dir(h.path(link)), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Symlink(h.path(target), h.path(link)); err != nil {
		h.t.Fatal(err)
	}
}
