package tail

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logmeter/logmeter/pkg/logline"
	"github.com/logmeter/logmeter/pkg/metrics"
)

// StartAt says where a file seen for the first time at the first start is
// read from. Files that appear later are always read from their beginning.
type StartAt int

const (
	StartAtEnd StartAt = iota
	StartAtBeginning
)

// Input is one configured source of lines.
type Input struct {
	Name         string
	Paths        []string // globs; "**" matches any number of directories
	Exclude      []string // globs matched against the full path and the base name
	Format       Format
	StartAt      StartAt
	MaxLineBytes int
	Multiline    *MultilineConfig
}

// Options configures a Tailer.
type Options struct {
	Inputs   []Input
	StateDir string // "" keeps no checkpoints
	// MaxOpenFiles bounds descriptors: past it, files read to their end and
	// idle for IdleClose are closed and reopened when they grow.
	MaxOpenFiles int
	IdleClose    time.Duration
	// DrainGrace is how long a rotated or deleted file is kept open after
	// its last data, for writers that have not reopened their log yet.
	DrainGrace time.Duration
	ReadChunk  int // bytes read per system call
	Clock      func() time.Time
	Logger     *slog.Logger
	Self       *metrics.Self // may be nil
	// StateFile is the checkpoint's name in StateDir (default
	// positions.json); a second Tailer over the same files, such as the
	// forwarder's, keeps its own.
	StateFile string
	// OnLost, when set, hears of bytes that rotated away unread.
	OnLost func(input string, bytes int64)
	// CheckpointErrors counts checkpoints that could not be written
	// (default: Self's); a second Tailer without Self, such as the
	// forwarder's, passes it alone.
	CheckpointErrors prometheus.Counter
	// PollShare is how much one file may be read per poll (default 4 MiB),
	// which bounds how long a poll takes and so how late a checkpoint can be.
	PollShare int64
}

// Handler receives every delivered line, in the Tailer's goroutine. The line
// and its Text are only valid during the call.
type Handler func(*logline.Line)

// Tailer follows the files of its inputs through rotation, truncation and
// restarts and hands their decoded lines to a Handler. Its methods are not
// safe for concurrent use: Run owns it; tests drive Scan and Poll directly.
type Tailer struct {
	opts    Options
	handler Handler
	log     *slog.Logger
	now     func() time.Time

	inputs    []*inputState
	followers []*follower // in discovery order, for fair and repeatable reading
	byKey     map[fileKey]*follower
	byPath    map[string]*follower   // the live (not draining) follower of a path
	byName    map[string][]*follower // followers by path and resolved path: the names events give
	round     uint64                 // PollFiles rounds, to visit a follower once per round
	roundBuf  []*follower

	gone       map[fileKey]time.Time // files let go recently: not to be taken for new generations
	rotatedAt  map[string]time.Time  // path -> when the file it named (until its rotation) was found
	firstStart bool                  // no checkpoint existed: start_at applies
	scanned    bool                  // the first scan has run
	restored   map[fileKey]savedFile // checkpoint entries not yet matched to a file
	savedAt    time.Time             // when the checkpoint restored was written
	// problems holds the paths a scan found but could not follow (keyed by
	// input and path), with the reason last reported: each is logged and
	// counted once, not per scan.
	problems, scanProblems map[string]string
	extra                  json.RawMessage // state saved by the pipeline with the offsets

	// pending is a copy of each file's path, identity and offset as of the
	// last poll, for PendingBytes from other goroutines.
	pendingMu sync.Mutex
	pending   []pendingFile
	globs     []Input // the inputs' paths and excludes, for UnseenBytes

	// dirty says something a checkpoint records changed since the last one.
	dirty bool

	buf    []byte
	fpBuf  []byte
	line   logline.Line
	mlOut  logline.Line
	open   int // descriptors held
	closed bool
}

type inputState struct {
	Input
	linesRead, bytesRead, lost prometheus.Counter
	watched, lag               prometheus.Gauge
	decodeErrs                 map[string]prometheus.Counter
	self                       *metrics.Self
}

func (in *inputState) decodeError(reason string) {
	if in.self == nil {
		return
	}
	c, ok := in.decodeErrs[reason]
	if !ok {
		c = in.self.DecodeErrors.WithLabelValues(in.Name, reason)
		in.decodeErrs[reason] = c
	}
	c.Inc()
}

// follower is the state of one followed file.
type follower struct {
	in   *inputState
	path string
	real string // path with symlinks resolved: where writes happen, and what events name
	key  fileKey
	fp   fingerprint
	f    *os.File // nil while closed to save descriptors

	offset    int64  // next byte to read
	partial   []byte // an unterminated line read so far
	partialAt int64  // its offset
	skipping  bool   // the line passed the limit: drop bytes until '\n'
	dec       *Decoder
	ml        *Multiline

	found    time.Time // when it was first followed
	head     uint64    // hash of the first line, once known (see logline.FileRef)
	headOK   bool
	size     int64 // at the last stat
	mtime    time.Time
	lastData time.Time
	round    uint64   // the last PollFiles round that visited it
	moved    bool     // in that round, an event said it was more than written to
	draining bool     // the path names another file now, or none: read to the end, then drop
	readErr  bool     // the last read failed (reported once until a read succeeds)
	reported []string // decode error reasons logged for this file
	wasLive  bool     // it was followed under its path before being rotated away
}

// New returns a Tailer that delivers lines to h. It reads the checkpoint in
// opts.StateDir; a corrupt checkpoint is reported and ignored (files are
// then read as on a first start).
func New(opts Options, h Handler) (*Tailer, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ReadChunk <= 0 {
		opts.ReadChunk = 256 << 10
	}
	if opts.MaxOpenFiles <= 0 {
		opts.MaxOpenFiles = 1024
	}
	if opts.IdleClose <= 0 {
		opts.IdleClose = time.Minute
	}
	if opts.DrainGrace <= 0 {
		opts.DrainGrace = 5 * time.Second
	}
	if opts.StateFile == "" {
		opts.StateFile = stateFile
	}
	if opts.PollShare <= 0 {
		opts.PollShare = 4 << 20
	}
	if opts.CheckpointErrors == nil && opts.Self != nil {
		opts.CheckpointErrors = opts.Self.CheckpointErrors
	}
	t := &Tailer{
		opts:      opts,
		handler:   h,
		log:       opts.Logger,
		now:       opts.Clock,
		byKey:     map[fileKey]*follower{},
		byPath:    map[string]*follower{},
		byName:    map[string][]*follower{},
		restored:  map[fileKey]savedFile{},
		gone:      map[fileKey]time.Time{},
		rotatedAt: map[string]time.Time{},
		dirty:     true, // even no files at all are worth a first checkpoint
		buf:       make([]byte, opts.ReadChunk),
		fpBuf:     make([]byte, fpMax),
	}
	t.SetInputs(opts.Inputs)
	t.firstStart = true
	if opts.StateDir != "" {
		st, found, savedAt, err := loadState(opts.StateDir, opts.StateFile)
		t.savedAt = savedAt
		if err != nil {
			t.log.Error("ignoring checkpoint", "err", err)
		}
		t.firstStart = !found
		for _, f := range st.Files {
			t.restored[fileKey{dev: f.Dev, ino: f.Ino}] = f
		}
		for _, g := range st.Gone {
			t.gone[fileKey{dev: g.Dev, ino: g.Ino}] = time.Unix(0, g.At)
		}
		t.extra = st.Extra
	}
	return t, nil
}

// Restored returns what the pipeline saved with the last checkpoint (see
// Checkpoint), or nil.
func (t *Tailer) Restored() json.RawMessage { return t.extra }

// SetInputs replaces the inputs (on a configuration reload). Files of
// inputs that are gone, or no longer match, are dropped at the next Scan.
func (t *Tailer) SetInputs(inputs []Input) {
	old := map[string]*inputState{}
	for _, in := range t.inputs {
		old[in.Name] = in
	}
	t.inputs = t.inputs[:0:0]
	globs := make([]Input, 0, len(inputs))
	for _, in := range inputs {
		globs = append(globs, Input{Paths: in.Paths, Exclude: in.Exclude})
	}
	t.pendingMu.Lock()
	t.globs = globs
	t.pendingMu.Unlock()
	for _, in := range inputs {
		st := &inputState{Input: in, decodeErrs: map[string]prometheus.Counter{}, self: t.opts.Self}
		if prev, ok := old[in.Name]; ok {
			st.decodeErrs = prev.decodeErrs
		}
		if s := t.opts.Self; s != nil {
			st.linesRead = s.LinesRead.WithLabelValues(in.Name)
			st.bytesRead = s.BytesRead.WithLabelValues(in.Name)
			st.lost = s.RotationLostBytes.WithLabelValues(in.Name)
			st.watched = s.FilesWatched.WithLabelValues(in.Name)
			st.lag = s.LagBytes.WithLabelValues(in.Name)
			s.LinesUnmatched.WithLabelValues(in.Name) // at 0 before the first unmatched line, like the others
			// The reasons this input's format can report start at 0, so
			// dashboards and rate() see them before the first error.
			reasons := []string{ReasonTooLong}
			switch in.Format {
			case FormatCRI:
				reasons = append(reasons, ReasonInvalidCRI)
			case FormatDocker:
				reasons = append(reasons, ReasonInvalidDocker)
			}
			for _, r := range reasons {
				if st.decodeErrs[r] == nil {
					st.decodeErrs[r] = s.DecodeErrors.WithLabelValues(in.Name, r)
				}
			}
			for _, r := range []string{FileNotRegular, FilePermissionDenied, FileOpenFailed, FileReadFailed, FileMissingDir} {
				s.FileErrors.WithLabelValues(in.Name, r)
			}
		}
		t.inputs = append(t.inputs, st)
	}
	// Followers keep their state but take the new input's settings.
	byName := map[string]*inputState{}
	for _, in := range t.inputs {
		byName[in.Name] = in
	}
	for _, f := range t.followers {
		if in, ok := byName[f.in.Name]; ok {
			f.in = in
		}
	}
}

// Scan discovers files: new ones are followed, ones that no longer match
// an input are dropped. The first Scan also matches files to the
// checkpoint and looks for checkpointed files that were rotated away while
// logmeter was not running.
func (t *Tailer) Scan() {
	live := map[*follower]bool{}
	t.scanProblems = map[string]string{}
	for _, in := range t.inputs {
		for _, pattern := range in.Paths {
			if base := globBase(pattern); !isDir(base) {
				// Likely a mistake in the configuration (or a volume not
				// mounted): say so once, and keep looking at every scan.
				t.fileProblem(in, base, FileMissingDir, fmt.Errorf("the directory of %s does not exist (yet)", pattern))
			}
		}
		paths := inputPaths(in.Input, func(pattern string, err error) {
			t.log.Warn("bad path glob", "input", in.Name, "glob", pattern, "err", err)
		})
		for _, p := range paths {
			if f := t.discover(in, p); f != nil {
				live[f] = true
			}
		}
	}
	for _, f := range t.followers {
		if !live[f] && !f.draining {
			if _, err := os.Stat(f.path); errors.Is(err, fs.ErrNotExist) {
				f.draining = true // deleted: Poll reads what is left
				continue
			}
			// Still there but no longer wanted (configuration changed).
			t.drop(f, false)
		}
	}
	// Problems that went away (fixed, or the path is gone) are forgotten,
	// so they are reported again if they come back.
	t.problems, t.scanProblems = t.scanProblems, nil
	if !t.scanned {
		t.scanned = true
		t.recoverRotated()
		// Older content first: what rotated away while logmeter was not
		// running, oldest first, then the files at their paths.
		slices.SortStableFunc(t.followers, func(a, b *follower) int {
			if a.draining != b.draining {
				if a.draining {
					return -1
				}
				return 1
			}
			if a.draining {
				return a.mtime.Compare(b.mtime)
			}
			return 0
		})
	}
	t.updateWatched()
}

// Reasons of logmeter_file_errors_total.
const (
	FileNotRegular       = "not_regular"
	FilePermissionDenied = "permission_denied"
	FileOpenFailed       = "open_failed"
	FileReadFailed       = "read_failed"
	FileMissingDir       = "missing_directory"
)

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// fileProblem reports a path a scan matched but cannot follow: logged and
// counted when it first appears (or its reason changes), quiet while it
// persists. The agent goes on with the other files.
func (t *Tailer) fileProblem(in *inputState, p, reason string, err error) {
	key := in.Name + "\x00" + p // each input that wants the path counts it
	if t.scanProblems != nil {
		t.scanProblems[key] = reason
	}
	if t.problems[key] == reason {
		return
	}
	if t.problems == nil {
		t.problems = map[string]string{}
	}
	t.problems[key] = reason
	msg := "cannot follow a log file; skipping it until it changes"
	if reason == FileMissingDir {
		msg = "an input's directory does not exist; looking for it at every scan"
	}
	t.log.Warn(msg, "input", in.Name, "path", p, "reason", reason, "err", err)
	if in.self != nil {
		in.self.FileErrors.WithLabelValues(in.Name, reason).Inc()
	}
}

// discover follows the file at path p unless it is followed already.
func (t *Tailer) discover(in *inputState, p string) *follower {
	fi, err := os.Stat(p)
	if err != nil {
		return nil
	}
	if !fi.Mode().IsRegular() {
		t.fileProblem(in, p, FileNotRegular, fmt.Errorf("%s is a %s", p, fileKind(fi.Mode())))
		return nil
	}
	key := keyOf(fi)
	if f, ok := t.byKey[key]; ok {
		return f // followed already, maybe under another name (a symlink)
	}
	if old, ok := t.byPath[p]; ok && old.key != key {
		// The path names a new file: the old one was rotated (a scan
		// noticed before a poll did). Finish it first, and look for the
		// generations that came and went in between, as a poll would.
		t.rotated(old)
	}
	file, err := openRegular(p)
	if err != nil {
		reason := FileOpenFailed
		switch {
		case errors.Is(err, fs.ErrPermission):
			reason = FilePermissionDenied
		case errors.Is(err, errNotRegular):
			reason = FileNotRegular
		}
		t.fileProblem(in, p, reason, err)
		return nil
	}
	fp, err := readFingerprint(file, fi.Size(), t.fpBuf)
	if err != nil {
		file.Close()
		t.fileProblem(in, p, FileReadFailed, err)
		return nil
	}
	f := t.newFollower(in, p, key, file, fi)
	f.fp = fp
	f.offset = t.startOffset(f, fi.Size())
	t.add(f)
	t.log.Debug("following a file", "path", p, "ino", key.ino, "size", fi.Size(), "offset", f.offset)
	if since, ok := t.rotatedAt[p]; ok {
		// Files may have come and gone at this path since its last file was
		// rotated: look for them next to it.
		delete(t.rotatedAt, p)
		t.findGenerations(in, f.real, since)
	}
	return f
}

func (t *Tailer) newFollower(in *inputState, p string, key fileKey, file *os.File, fi os.FileInfo) *follower {
	real := p
	if r, err := filepath.EvalSymlinks(p); err == nil {
		real = r
	}
	return &follower{
		in:       in,
		path:     p,
		real:     real,
		key:      key,
		f:        file,
		dec:      NewDecoder(in.Format, in.MaxLineBytes),
		ml:       newMultilineFor(in.Multiline),
		size:     fi.Size(),
		mtime:    fi.ModTime(),
		lastData: t.now(),
		found:    t.now(),
	}
}

func newMultilineFor(c *MultilineConfig) *Multiline {
	if c == nil {
		return nil
	}
	return NewMultiline(*c)
}

// startOffset decides where a newly followed file is read from.
func (t *Tailer) startOffset(f *follower, size int64) int64 {
	if cp, ok := t.restored[f.key]; ok {
		delete(t.restored, f.key)
		same, _ := fingerprintOf(cp).matches(f.f, size, t.fpBuf)
		if same && cp.Offset <= size {
			return cp.Offset
		}
		// Truncated (copytruncate) or replaced (inode reused) while logmeter
		// was not running: the unread rest may live on in a copy.
		if !t.followCopy(f.in, f.real, cp) {
			t.lost(f, cp.Size-cp.Offset)
		}
		return 0
	}
	if !t.scanned && t.firstStart && f.in.StartAt == StartAtEnd {
		return t.afterLastNewline(f.f, size)
	}
	return 0
}

func fingerprintOf(cp savedFile) fingerprint { return fingerprint{n: cp.FPLen, hash: cp.FPHash} }

// followCopy looks next to path for a file that starts like the
// checkpointed one and is at least as long as its offset (the copy of a
// copytruncate, or the file itself under a rotated name) and follows it
// from the checkpoint to its end.
func (t *Tailer) followCopy(in *inputState, path string, cp savedFile) bool {
	if cp.FPLen == 0 {
		return false // nothing to recognise it by
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name() == base || !strings.HasPrefix(e.Name(), base) || compressed(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() < cp.Offset || t.byKey[keyOf(fi)] != nil {
			continue
		}
		file, err := openRegular(p)
		if err != nil {
			continue
		}
		if ok, _ := fingerprintOf(cp).matches(file, fi.Size(), t.fpBuf); !ok {
			file.Close()
			continue
		}
		g := t.newFollower(in, p, keyOf(fi), file, fi)
		g.fp, g.offset, g.draining = fingerprintOf(cp), cp.Offset, true
		t.log.Info("reading the rest of a file from its copy", "path", path, "copy", p, "offset", cp.Offset)
		t.add(g)
		return true
	}
	return false
}

// findGenerations follows files that appeared next to path since the given
// time and were rotated away before logmeter saw them at the path (several
// rotations within one poll or scan). Compressed files, files followed or
// let go already, and copies of followed files are not taken.
func (t *Tailer) findGenerations(in *inputState, path string, since time.Time) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if name == base || !strings.HasPrefix(name, base) || compressed(name) {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.ModTime().Before(since.Add(-mtimeSlack)) {
			continue
		}
		key := keyOf(fi)
		if _, gone := t.gone[key]; gone || t.byKey[key] != nil {
			continue
		}
		file, err := openRegular(p)
		if err != nil {
			continue
		}
		fp, err := readFingerprint(file, fi.Size(), t.fpBuf)
		if err != nil || t.isCopy(dir, fp, file, fi.Size()) {
			file.Close()
			continue
		}
		g := t.newFollower(in, p, key, file, fi)
		g.fp, g.draining = fp, true
		t.log.Debug("generation", "path", p, "ino", key.ino, "size", fi.Size())
		t.log.Info("reading a log generation rotated before it was seen", "path", p)
		t.add(g)
	}
}

// mtimeSlack allows for file times, which the kernel takes from a coarse
// clock (a tick of up to 10ms), being earlier than a time.Now taken before
// the write.
const mtimeSlack = 10 * time.Millisecond

// isCopy reports whether the file starts like a followed file of dir (a
// copytruncate copy, whose content logmeter reads from the original).
func (t *Tailer) isCopy(dir string, fp fingerprint, file *os.File, size int64) bool {
	for _, g := range t.followers {
		if g.fp.n == 0 || filepath.Dir(g.path) != dir {
			continue
		}
		if ok, _ := g.fp.matches(file, size, t.fpBuf); ok {
			return true
		}
	}
	return fp.n == 0
}

// compressed reports names of rotated files that were compressed: their
// content is not log text any more.
func compressed(name string) bool {
	for _, ext := range []string{".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// afterLastNewline returns the offset just after the last '\n' before size,
// so that starting at the end never begins in the middle of a line.
func (t *Tailer) afterLastNewline(f *os.File, size int64) int64 {
	for end := size; end > 0; {
		start := max(0, end-int64(len(t.buf)))
		n, err := f.ReadAt(t.buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return size
		}
		if i := bytes.LastIndexByte(t.buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1
		}
		end = start
	}
	return 0
}

func (t *Tailer) add(f *follower) {
	t.dirty = true
	t.index(f)
	t.followers = append(t.followers, f)
	t.byKey[f.key] = f
	if !f.draining {
		t.byPath[f.path] = f
	}
	if f.f != nil {
		t.open++
	}
}

// recoverRotated looks for checkpointed files that no path names any more:
// rotated by rename while logmeter was down. A file with the same inode and
// fingerprint in the same directory is read from its checkpoint to the end.
func (t *Tailer) recoverRotated() {
	for key, cp := range t.restored {
		delete(t.restored, key)
		in := t.inputByName(cp.Input)
		if in == nil {
			continue
		}
		real := cmp.Or(cp.Real, cp.Path) // symlinks name no rotated file: their targets' directories hold them
		p, file, fi := findByKey(filepath.Dir(real), key)
		if file != nil {
			if ok, _ := fingerprintOf(cp).matches(file, fi.Size(), t.fpBuf); ok && cp.Offset <= fi.Size() {
				f := t.newFollower(in, p, key, file, fi)
				f.fp, f.offset, f.draining = fingerprintOf(cp), cp.Offset, true
				t.log.Info("reading the rest of a file rotated while not running", "path", p, "was", cp.Path, "offset", cp.Offset)
				t.add(f)
				continue
			}
		}
		// Gone, or truncated as well as renamed (copytruncate, then a
		// rename): the checkpointed content lives on in a copy, if anywhere.
		copied := t.followCopy(in, real, cp)
		if !copied && cp.Size > cp.Offset {
			t.log.Warn("log file rotated away while not running; its unread bytes are lost",
				"path", cp.Path, "bytes", cp.Size-cp.Offset)
			t.lostBytes(in, cp.Size-cp.Offset)
		}
		if file != nil {
			// What it holds now was written after the truncation: all new.
			f := t.newFollower(in, p, key, file, fi)
			f.draining = true
			if fp, err := readFingerprint(file, fi.Size(), t.fpBuf); err == nil {
				f.fp = fp
			}
			t.log.Info("reading a file truncated and rotated while not running", "path", p, "was", cp.Path)
			t.add(f)
		}
	}
	if t.savedAt.IsZero() {
		return
	}
	// Generations that came and went while logmeter was not running:
	// files next to a followed one, written since the checkpoint, that no
	// checkpoint entry names (a file created and rotated away during the
	// downtime; a copy of a copytruncate the checkpoint never saw).
	seen := map[string]bool{}
	for _, f := range slices.Clone(t.followers) {
		if f.draining || seen[f.real] {
			continue
		}
		seen[f.real] = true
		t.findGenerations(f.in, f.real, t.savedAt)
	}
}

func (t *Tailer) inputByName(name string) *inputState {
	for _, in := range t.inputs {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// findByKey opens the file of dir whose device and inode are key.
func findByKey(dir string, key fileKey) (string, *os.File, os.FileInfo) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, nil
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || keyOf(fi) != key {
			continue
		}
		file, err := openRegular(p)
		if err != nil {
			return "", nil, nil
		}
		return p, file, fi
	}
	return "", nil, nil
}

// Poll checks every followed file for rotation and truncation and reads
// what was appended. It reports whether some file has more to read than
// one poll takes, so the caller can poll again at once.
func (t *Tailer) Poll() (more bool) {
	now := t.now()
	for i := 0; i < len(t.followers); i++ {
		f := t.followers[i]
		t.check(f)
		busy := t.read(f)
		more = more || busy
		t.flushTimedOut(f, now)
		if f.draining && !busy && now.Sub(f.lastData) >= t.opts.DrainGrace {
			t.drop(f, true)
			i--
		}
	}
	t.limitOpen(now)
	t.updateWatched()
	for k, at := range t.gone {
		if now.Sub(at) > 10*time.Minute {
			delete(t.gone, k)
		}
	}
	t.pendingMu.Lock()
	t.pending = t.pending[:0]
	for _, f := range t.followers {
		t.pending = append(t.pending, pendingFile{file: f.f, path: f.path, key: f.key, offset: f.checkpointOffset(), size: f.size})
	}
	t.pendingMu.Unlock()
	return more
}

// PollFiles is Poll for the files events named (see Touched): they are
// checked and read, and so are files draining after a rotation, whose
// writes events name under their new names, and files found on the way.
// Everything else waits for the next Poll. Its cost follows the files
// named, not the files followed.
func (t *Tailer) PollFiles(files map[string]bool) (more bool) {
	t.round++
	visit := t.roundBuf[:0]
	note := func(f *follower, moved bool) {
		if f.round != t.round {
			f.round, f.moved = t.round, moved
			visit = append(visit, f)
		} else {
			f.moved = f.moved || moved
		}
	}
	for name, moved := range files {
		for _, f := range t.byName[name] {
			note(f, moved)
		}
	}
	for _, f := range t.followers {
		if f.draining {
			note(f, true)
		}
	}
	found := len(t.followers)
	for _, f := range visit {
		more = t.pollOne(f) || more
	}
	// Files the checks found (a new file at a rotated path, generations,
	// copies) are read in the same round.
	for i := found; i < len(t.followers); i++ {
		f := t.followers[i]
		f.round, f.moved = t.round, true
		more = t.pollOne(f) || more
	}
	clear(visit)
	t.roundBuf = visit[:0]
	return more
}

// pollOne checks and reads one file PollFiles visits.
func (t *Tailer) pollOne(f *follower) (more bool) {
	if f.moved || f.draining {
		t.check(f)
	} else {
		t.checkWritten(f)
	}
	return t.read(f)
}

// index and unindex keep byName, the followers by the names events give.
func (t *Tailer) index(f *follower) {
	t.byName[f.path] = append(t.byName[f.path], f)
	if f.real != f.path {
		t.byName[f.real] = append(t.byName[f.real], f)
	}
}

func (t *Tailer) unindex(f *follower) {
	for _, name := range []string{f.path, f.real} {
		list := slices.DeleteFunc(t.byName[name], func(g *follower) bool { return g == f })
		if len(list) == 0 {
			delete(t.byName, name)
		} else {
			t.byName[name] = list
		}
	}
}

type pendingFile struct {
	file   *os.File // nil while closed; fstat works after renames
	path   string
	key    fileKey
	offset int64
	size   int64
}

// PendingBytes is how much of the followed files lies beyond their
// positions: what this reader still has to deliver. Unlike Lag it looks at
// the files' sizes now, and it is safe to call from any goroutine, so it
// stays right while the reading goroutine waits (a forwarder held back by
// its cluster).
func (t *Tailer) PendingBytes() int64 {
	t.pendingMu.Lock()
	files := slices.Clone(t.pending)
	t.pendingMu.Unlock()
	var n int64
	for _, f := range files {
		size := f.size
		if f.file != nil {
			// A concurrent Close makes Stat fail: the last size then serves.
			if fi, err := f.file.Stat(); err == nil {
				size = fi.Size()
			}
		} else if fi, err := os.Stat(f.path); err == nil && keyOf(fi) == f.key {
			size = fi.Size()
		}
		n += max(size-f.offset, 0)
	}
	// A file that now sits at a followed path but was not found yet by the
	// (waiting) reader is pending as a whole.
	known := map[fileKey]bool{}
	for _, f := range files {
		known[f.key] = true
	}
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f.path] {
			continue
		}
		seen[f.path] = true
		if fi, err := os.Stat(f.path); err == nil && !known[keyOf(fi)] {
			known[keyOf(fi)] = true
			n += fi.Size()
		}
	}
	return n
}

// UnseenBytes is the size of the files the inputs' globs match that this
// reader has not found yet: a reader waiting (for its cluster) does not
// scan, so new files pile up unseen. It expands the globs, so it is for
// occasional use (a gauge), from any goroutine.
func (t *Tailer) UnseenBytes() int64 {
	t.pendingMu.Lock()
	globs := slices.Clone(t.globs)
	known := make(map[fileKey]bool, len(t.pending))
	for _, f := range t.pending {
		known[f.key] = true
	}
	t.pendingMu.Unlock()
	var n int64
	for _, in := range globs {
		for _, p := range inputPaths(in, func(string, error) {}) { // Scan reports bad globs
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && !known[keyOf(fi)] {
				known[keyOf(fi)] = true
				n += fi.Size()
			}
		}
	}
	return n
}

// check stats the path of f and handles rotation and truncation.
func (t *Tailer) check(f *follower) {
	if f.draining {
		// A rotated file can still be truncated (copytruncate of a file
		// that was renamed since): its descriptor tells.
		if f.f != nil {
			if fi, err := f.f.Stat(); err == nil {
				t.resized(f, fi)
			}
		}
		// The path was rotated away from this file: follow whatever file
		// appears there now, without waiting for the next scan.
		if f.wasLive && t.byPath[f.path] == nil {
			if _, err := os.Stat(f.path); err == nil {
				t.discover(f.in, f.path)
			}
		}
		return
	}
	fi, err := os.Stat(f.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			t.rotated(f)
		}
		return
	}
	if keyOf(fi) != f.key {
		// Renamed away (or deleted) and a new file created at the path:
		// drain the old file and follow the new one from its start.
		t.rotated(f)
		t.discover(f.in, f.path)
		return
	}
	t.resized(f, fi)
}

// checkWritten is check for a file that events say was only written to
// (or truncated): the open descriptor's stat tells its size without
// resolving the path.
func (t *Tailer) checkWritten(f *follower) {
	if f.f == nil || f.draining {
		t.check(f)
		return
	}
	fi, err := f.f.Stat()
	if err != nil {
		t.check(f)
		return
	}
	t.resized(f, fi)
}

// resized handles growth and truncation of f's file, of which fi is a
// fresh stat.
func (t *Tailer) resized(f *follower, fi os.FileInfo) {
	size := fi.Size()
	changed := size != f.size || !fi.ModTime().Equal(f.mtime)
	f.mtime = fi.ModTime()
	if f.f == nil {
		if size <= f.offset && !changed {
			return
		}
		if !t.reopen(f) {
			return
		}
	}
	switch {
	case size < f.offset:
		t.truncated(f, size)
	case changed && f.fp.n > 0:
		if ok, err := f.fp.matches(f.f, size, t.fpBuf); err == nil && !ok {
			// Truncated and written again past the old offset before we looked.
			t.truncated(f, size)
		}
	}
	f.size = size
}

// rotated handles f's path no longer naming f's file.
func (t *Tailer) rotated(f *follower) {
	t.log.Debug("file rotated away from its path", "path", f.path, "ino", f.key.ino, "offset", f.offset, "size", f.size)
	f.draining, f.wasLive = true, true
	delete(t.byPath, f.path)
	if f.f == nil {
		t.reopenRotated(f)
	}
	since := f.found
	if f.f != nil {
		// It may have been truncated too before it was renamed (two
		// rotations between looks): then its unread rest is in a copy, and
		// what it holds now is read from the start.
		if fi, err := f.f.Stat(); err == nil {
			t.resized(f, fi)
		}
	}
	t.rotatedAt[f.path] = since
	t.findGenerations(f.in, f.real, since)
}

// reopen opens f's path again after its descriptor was released, checking
// it is still the same file.
func (t *Tailer) reopen(f *follower) bool {
	file, err := openRegular(f.path)
	if err != nil {
		return false
	}
	fi, err := file.Stat()
	if err != nil || keyOf(fi) != f.key {
		file.Close()
		return false
	}
	f.f = file
	t.open++
	return true
}

// reopenRotated finds a released file that was rotated by its inode.
func (t *Tailer) reopenRotated(f *follower) {
	p, file, _ := findByKey(filepath.Dir(f.path), f.key)
	if file == nil {
		if f.size > f.offset {
			t.lost(f, f.size-f.offset)
		}
		return
	}
	t.unindex(f)
	f.path, f.real, f.f = p, p, file // the rotated name is where writes land now
	t.index(f)
	t.open++
}

// truncated handles a copytruncate rotation: the bytes between the offset
// and the old end were copied to a sibling file (access.log.1), which is
// read for them; only when no copy is found are they counted as lost.
func (t *Tailer) truncated(f *follower, size int64) {
	// Look for the copy even when the last stat saw nothing unread: data
	// may have been appended, copied and truncated since.
	t.log.Debug("file truncated", "path", f.path, "ino", f.key.ino, "offset", f.offset, "size", f.size, "new_size", size, "fp", f.fp.n)
	if copyPath, ok := t.readCopy(f); ok {
		t.log.Info("log file truncated; read the rest from its copy", "path", f.path, "copy", copyPath)
	} else if f.size > f.offset {
		t.lost(f, f.size-f.offset)
		t.log.Warn("log file truncated before it was read to the end", "path", f.path, "lost_bytes", f.size-f.offset)
	}
	t.finishPending(f)
	t.dirty = true
	f.offset, f.partial, f.skipping, f.fp = 0, f.partial[:0], false, fingerprint{}
	f.headOK = false  // new content, new first line
	f.found = t.now() // older copies are not new generations of it
	f.size = size
}

// readCopy looks in the file's directory for a copy (same fingerprint, at
// least as long as the offset) and reads it from the offset to its end.
func (t *Tailer) readCopy(f *follower) (string, bool) {
	dir := filepath.Dir(f.real)
	entries, err := os.ReadDir(dir)
	if err != nil || f.fp.n == 0 {
		return "", false
	}
	base := filepath.Base(f.real)
	var best string
	var bestTime time.Time
	for _, e := range entries {
		name := e.Name()
		if name == base || !bytes.HasPrefix([]byte(name), []byte(base)) {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() < f.offset {
			continue
		}
		file, err := openRegular(p)
		if err != nil {
			continue
		}
		ok, _ := f.fp.matches(file, fi.Size(), t.fpBuf)
		file.Close()
		if ok && (best == "" || fi.ModTime().After(bestTime)) {
			best, bestTime = p, fi.ModTime()
		}
	}
	if best == "" {
		return "", false
	}
	file, err := openRegular(best)
	if err != nil {
		return "", false
	}
	defer file.Close()
	if fi, err := file.Stat(); err == nil {
		t.gone[keyOf(fi)] = t.now() // read: not a generation of its own later
	}
	orig := f.f
	f.f = file
	for t.readFrom(f, 1<<62) {
	}
	f.f = orig
	return best, true
}

func (t *Tailer) lost(f *follower, n int64) {
	t.lostBytes(f.in, n)
}

func (t *Tailer) lostBytes(in *inputState, n int64) {
	if n <= 0 {
		return
	}
	if in.lost != nil {
		in.lost.Add(float64(n))
	}
	if t.opts.OnLost != nil {
		t.opts.OnLost(in.Name, n)
	}
}

// read reads what was appended to f, up to a fair share per poll.
func (t *Tailer) read(f *follower) (more bool) {
	if f.f == nil || (!f.draining && f.offset >= f.size) {
		// Nothing new as of the stat check just made: a read would only
		// confirm it. (A draining file is not stat-ed; it is read.)
		return false
	}
	return t.readFrom(f, t.opts.PollShare)
}

// readFrom reads from f.f at f.offset, at most budget bytes, and reports
// whether it stopped because of the budget.
func (t *Tailer) readFrom(f *follower, budget int64) (more bool) {
	for budget > 0 {
		n, err := f.f.ReadAt(t.buf, f.offset)
		if n > 0 {
			if f.fp.n < fpMax && f.offset < fpMax {
				// The fingerprint grows with the file's first bytes.
				if fp, err := readFingerprint(f.f, f.offset+int64(n), t.fpBuf); err == nil {
					f.fp = fp
				}
			}
			t.consume(f, t.buf[:n])
			f.offset += int64(n)
			t.dirty = true
			f.lastData = t.now()
			budget -= int64(n)
			if f.in.bytesRead != nil {
				f.in.bytesRead.Add(float64(n))
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.readFailed(f, err)
			} else {
				f.readErr = false
			}
			return false
		}
		f.readErr = false
		if n < len(t.buf) {
			return false
		}
	}
	return true
}

// readFailed reports a read error (an I/O error of the disk, a file
// system gone away): logged and counted when it starts, quiet while it
// lasts; the next poll tries again from the same offset.
func (t *Tailer) readFailed(f *follower, err error) {
	if f.readErr {
		return
	}
	f.readErr = true
	t.log.Warn("cannot read a log file; retrying at the next poll", "input", f.in.Name, "path", f.path, "offset", f.offset, "err", err)
	if f.in.self != nil {
		f.in.self.FileErrors.WithLabelValues(f.in.Name, FileReadFailed).Inc()
	}
}

// lineLimit is the longest physical line kept: the message limit plus room
// for CRI/docker framing; the decoder enforces the message limit itself.
func lineLimit(in *inputState) int {
	limit := in.MaxLineBytes
	if limit <= 0 {
		limit = DefaultMaxLineBytes
	}
	return limit + 64<<10
}

// consume splits data (read at f.offset) into lines.
func (t *Tailer) consume(f *follower, data []byte) {
	limit := lineLimit(f.in)
	for start := 0; start < len(data); {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			t.keepPartial(f, data[start:], f.offset+int64(start), limit)
			return
		}
		end := start + i
		if len(f.partial) > 0 || f.skipping {
			truncated := f.skipping
			t.keepPartial(f, data[start:end], f.offset+int64(start), limit)
			truncated = truncated || f.skipping
			t.emit(f, f.partial, f.partialAt, truncated)
			f.partial, f.skipping = f.partial[:0], false
		} else {
			raw := data[start:end]
			truncated := len(raw) > limit
			if truncated {
				raw = raw[:limit]
			}
			t.emit(f, raw, f.offset+int64(start), truncated)
		}
		start = end + 1
	}
}

func (t *Tailer) keepPartial(f *follower, b []byte, at int64, limit int) {
	if len(f.partial) == 0 && !f.skipping {
		f.partialAt = at
	}
	room := limit - len(f.partial)
	if len(b) > room {
		b = b[:max(room, 0)]
		f.skipping = true
	}
	f.partial = append(f.partial, b...)
}

// emit decodes one physical line and delivers the logical lines it completes.
func (t *Tailer) emit(f *follower, raw []byte, offset int64, truncated bool) {
	line := &t.line
	done, reason := f.dec.Decode(raw, offset, line)
	if truncated && reason == "" {
		reason = ReasonTooLong
	}
	if reason != "" {
		t.decodeError(f, reason, offset)
	}
	if done {
		t.assemble(f, line)
	}
}

// decodeError counts a line that could not be decoded as its format says
// (or was too long), and logs the first of each reason per file: a
// misconfigured format would otherwise log every line.
func (t *Tailer) decodeError(f *follower, reason string, offset int64) {
	f.in.decodeError(reason)
	if slices.Contains(f.reported, reason) {
		return
	}
	f.reported = append(f.reported, reason)
	t.log.Warn("a line could not be decoded as its input's format says; counted in logmeter_decode_errors_total, further ones in this file are not logged",
		"input", f.in.Name, "path", f.path, "offset", offset, "reason", reason, "format", f.in.Format.String())
}

// assemble passes a decoded line through multiline joining, if configured.
func (t *Tailer) assemble(f *follower, line *logline.Line) {
	line.Input, line.Source = f.in.Name, f.path
	if f.ml == nil {
		t.deliver(f, line)
		return
	}
	done, reason := f.ml.Add(line, t.now(), &t.mlOut)
	if reason != "" {
		t.decodeError(f, reason, line.Offset)
	}
	if done {
		t.deliver(f, &t.mlOut)
	}
}

func (t *Tailer) deliver(f *follower, line *logline.Line) {
	line.Input, line.Source = f.in.Name, f.path
	// The line struct is reused: metadata a handler attached to the last
	// line (its pod) must not stick to this one, which may be another file's.
	line.Kube = nil
	if !f.headOK {
		f.head, f.headOK = t.headHash(f)
	}
	line.File = logline.FileRef{Dev: f.key.dev, Ino: f.key.ino, Head: f.head}
	if f.in.linesRead != nil {
		f.in.linesRead.Inc()
	}
	t.handler(line)
}

func (t *Tailer) flushTimedOut(f *follower, now time.Time) {
	if f.ml != nil && f.ml.Flush(now, false, &t.mlOut) {
		t.deliver(f, &t.mlOut)
	}
}

// finishPending delivers what a file leaves unfinished when it ends
// (rotated, truncated, dropped): a last line without '\n', CRI/docker
// partials, a pending multiline record.
func (t *Tailer) finishPending(f *follower) {
	if len(f.partial) > 0 {
		t.emit(f, f.partial, f.partialAt, f.skipping)
		f.partial, f.skipping = f.partial[:0], false
	}
	for f.dec.Flush(&t.line) {
		t.assemble(f, &t.line)
	}
	if f.ml != nil {
		for f.ml.Flush(t.now(), true, &t.mlOut) {
			t.deliver(f, &t.mlOut)
		}
	}
}

// drop stops following f; with finish, its unfinished lines are delivered.
func (t *Tailer) drop(f *follower, finish bool) {
	t.log.Debug("letting a file go", "path", f.path, "ino", f.key.ino, "offset", f.offset, "size", f.size, "draining", f.draining)
	if finish {
		t.finishPending(f)
	}
	if f.f != nil {
		f.f.Close()
		f.f = nil
		t.open--
	}
	t.dirty = true
	t.unindex(f)
	delete(t.byKey, f.key)
	t.gone[f.key] = t.now()
	if t.byPath[f.path] == f {
		delete(t.byPath, f.path)
	}
	t.followers = slices.DeleteFunc(t.followers, func(g *follower) bool { return g == f })
}

// limitOpen releases descriptors of idle, fully read files while more than
// MaxOpenFiles are open.
func (t *Tailer) limitOpen(now time.Time) {
	if t.open <= t.opts.MaxOpenFiles {
		return
	}
	idle := make([]*follower, 0, len(t.followers))
	for _, f := range t.followers {
		if f.f != nil && !f.draining && f.offset >= f.size && len(f.partial) == 0 && now.Sub(f.lastData) >= t.opts.IdleClose {
			idle = append(idle, f)
		}
	}
	slices.SortFunc(idle, func(a, b *follower) int { return a.lastData.Compare(b.lastData) })
	for _, f := range idle {
		if t.open <= t.opts.MaxOpenFiles {
			break
		}
		f.f.Close()
		f.f = nil
		t.open--
	}
}

// updateWatched sets the per-input gauges: files followed, and bytes they
// have that were not read yet (as of the last stat). Per-input sums keep
// the cardinality bounded however many files there are.
func (t *Tailer) updateWatched() {
	counts := map[*inputState]int{}
	lag := map[*inputState]int64{}
	for _, f := range t.followers {
		counts[f.in]++
		lag[f.in] += max(f.size-f.offset, 0)
	}
	for _, in := range t.inputs {
		if in.watched != nil {
			in.watched.Set(float64(counts[in]))
			in.lag.Set(float64(lag[in]))
		}
	}
}

// Checkpoint saves every file's position (the start of the first line not
// yet delivered) together with extra, the pipeline's own state as of the
// same moment, in one atomic write.
func (t *Tailer) Checkpoint(extra json.RawMessage) error {
	if t.opts.StateDir == "" {
		return nil
	}
	st := savedState{Extra: extra}
	for _, f := range t.followers {
		st.Files = append(st.Files, savedFile{
			Path: f.path, Real: realIfOther(f), Input: f.in.Name, Dev: f.key.dev, Ino: f.key.ino,
			FPLen: f.fp.n, FPHash: f.fp.hash, Offset: f.checkpointOffset(), Size: max(f.size, f.offset),
		})
	}
	for k, at := range t.gone {
		st.Gone = append(st.Gone, goneFile{Dev: k.dev, Ino: k.ino, At: at.UnixNano()})
	}
	slices.SortFunc(st.Gone, func(a, b goneFile) int { return cmp.Or(cmp.Compare(a.Dev, b.Dev), cmp.Compare(a.Ino, b.Ino)) })
	// Entries of files not found yet (the first scan has not run) are kept.
	for _, cp := range t.restored {
		st.Files = append(st.Files, cp)
	}
	slices.SortFunc(st.Files, func(a, b savedFile) int { return cmp.Compare(a.Path, b.Path) })
	if err := saveState(t.opts.StateDir, t.opts.StateFile, st); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	t.dirty = false
	return nil
}

// realIfOther is the resolved path to save when it differs from the path.
func realIfOther(f *follower) string {
	if f.real == f.path {
		return ""
	}
	return f.real
}

// Changed reports whether anything a checkpoint records (positions, files,
// or, through the lines, the pipeline's state) changed since the last one.
func (t *Tailer) Changed() bool { return t.dirty }

// checkpointOffset is the offset a restart resumes at: the start of the
// oldest line that was read but not yet delivered.
func (f *follower) checkpointOffset() int64 {
	off := f.offset
	if len(f.partial) > 0 || f.skipping {
		off = min(off, f.partialAt)
	}
	if o, ok := f.dec.PendingOffset(); ok {
		off = min(off, o)
	}
	if f.ml != nil {
		if o, ok := f.ml.PendingOffset(); ok {
			off = min(off, o)
		}
	}
	return off
}

// Close releases all descriptors. Lines still pending (a record waiting
// for its end) are not delivered: the checkpoint points before them, so the
// next start reads them again.
func (t *Tailer) Close() {
	if t.closed {
		return
	}
	t.closed = true
	for _, f := range t.followers {
		if f.f != nil {
			f.f.Close()
			f.f = nil
		}
	}
	t.open = 0
}

// headHash hashes the file's first line (at most fpMax bytes of it). It is
// read from the file, not from the delivered text, so it is the same
// whether the file is read from its start or resumed at a checkpoint.
func (t *Tailer) headHash(f *follower) (uint64, bool) {
	if f.f == nil {
		return 0, false
	}
	n, err := f.f.ReadAt(t.fpBuf, 0)
	if n == 0 && err != nil {
		return 0, false
	}
	b := t.fpBuf[:n]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	} else if n < fpMax {
		return 0, false // the first line is not complete yet
	}
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64(), true
}

// Lag is the number of bytes in followed files not read yet, as of the
// last look at their sizes.
func (t *Tailer) Lag() int64 {
	var n int64
	for _, f := range t.followers {
		n += max(f.size-f.offset, 0)
	}
	return n
}

var errNotRegular = errors.New("not a regular file")

// openRegular opens a log file for reading without blocking: a FIFO put in
// place of a file between the scan's stat and the open would otherwise
// block the tailer until a writer appears.
func openRegular(p string) (*os.File, error) {
	file, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		file.Close()
		return nil, fmt.Errorf("%s: %w (a %s)", p, errNotRegular, fileKind(fi.Mode()))
	}
	return file, nil
}

// fileKind names a file's type for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	}
	return "special file"
}
