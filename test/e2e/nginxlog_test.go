package e2e

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// The lines are a deterministic function of their sequence number, so the
// expected metric values are counted here, independently of logmeter.
var (
	methods  = []string{"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"}
	statuses = []string{"200", "201", "204", "301", "304", "400", "403", "404", "500", "502", "503"}
	users    = []string{"-", "alice", "bob"}
	agents   = []string{"curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/125.0", "kube-probe/1.30", ""}
)

// nginxLine returns line seq (without '\n'). kind is "combined", "timed"
// or "" for a line no nginx rule matches (an error-log line).
func nginxLine(seq int) (text, kind, method, status string, bytes int) {
	if seq%37 == 36 {
		return fmt.Sprintf("2024/05/01 12:%02d:%02d [error] 17#17: *%d connect() failed (111: Connection refused) while connecting to upstream, request: \"GET /item/%d HTTP/1.1\"",
			seq/60%60, seq%60, seq, seq), "", "", "", 0
	}
	method = methods[(seq*7)%len(methods)]
	status = statuses[(seq*13+seq/5)%len(statuses)]
	bytes = (seq * 131) % 50000
	ts := fmt.Sprintf("01/May/2024:%02d:%02d:%02d +0000", 12+seq/3600%12, seq/60%60, seq%60)
	ip := fmt.Sprintf("10.%d.%d.%d", seq>>16&255, seq>>8&255, seq&255)
	path := "/item/" + strconv.Itoa(seq)
	if seq%5 == 0 {
		path += "?page=" + strconv.Itoa(seq%17)
	}
	text = fmt.Sprintf(`%s - %s [%s] "%s %s HTTP/1.1" %s %d "-" "%s"`,
		ip, users[seq%len(users)], ts, method, path, status, bytes, agents[seq%len(agents)])
	if seq%3 == 0 {
		return text, "combined", method, status, bytes
	}
	rt := fmt.Sprintf("%d.%03d", seq%3, seq%1000)
	switch seq % 4 {
	case 0:
		text += " " + rt
	case 1:
		text += " " + rt + " -"
	case 2:
		text += " " + rt + " 0.004, 0.010"
	default:
		text += " " + rt + " 0.004 : " + rt
	}
	return text, "timed", method, status, bytes
}

// tally is what the written lines should produce.
type tally struct {
	lines     int
	unmatched int
	requests  map[string]float64 // "METHOD STATUS" -> count
	respBytes map[string]float64 // METHOD -> bytes
	byKind    map[string]int
	bytes     int64
}

func newTally() *tally {
	return &tally{requests: map[string]float64{}, respBytes: map[string]float64{}, byKind: map[string]int{}}
}

func (t *tally) add(seq int, n int) {
	_, kind, method, status, bytes := nginxLine(seq)
	t.lines++
	t.bytes += int64(n)
	t.byKind[kind]++
	if kind == "" {
		t.unmatched++
		return
	}
	t.requests[method+" "+status]++
	t.respBytes[method] += float64(bytes)
}

// logWriter appends numbered nginx lines to a file and rotates it the way
// logrotate does, either by renaming (create) or by copytruncate, keeping
// three old files.
type logWriter struct {
	path string
	f    *os.File // opened with O_APPEND, as nginx opens its log

	// gate is held during each rotation; a test holds it to keep the
	// writer from rotating (it goes on writing) while logmeter is down.
	gate sync.Mutex

	mu        sync.Mutex // guards the fields below, read by the test
	seq       int
	tally     *tally
	rotations int
	lastCT    int // lines written before the last copytruncate
}

func newLogWriter(path string) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &logWriter{path: path, f: f, tally: newTally()}, nil
}

func (w *logWriter) close() error { return w.f.Close() }

// write appends n lines. The bytes go out in two writes split inside a
// line, so a reader sometimes sees half a line.
func (w *logWriter) write(n int) error {
	var b strings.Builder
	w.mu.Lock()
	first := w.seq
	w.mu.Unlock()
	sizes := make([]int, n)
	for i := range n {
		text, _, _, _, _ := nginxLine(first + i)
		b.WriteString(text)
		b.WriteByte('\n')
		sizes[i] = len(text) + 1
	}
	data := b.String()
	cut := len(data) / 2
	if _, err := io.WriteString(w.f, data[:cut]); err != nil {
		return err
	}
	if _, err := io.WriteString(w.f, data[cut:]); err != nil {
		return err
	}
	w.mu.Lock()
	for i := range n {
		w.tally.add(first+i, sizes[i])
	}
	w.seq += n
	w.mu.Unlock()
	return nil
}

// shift moves path.1 to path.2 and path.2 to path.3, deleting path.3.
func (w *logWriter) shift() error {
	if err := os.Remove(w.path + ".3"); err != nil && !os.IsNotExist(err) {
		return err
	}
	for i := 2; i >= 1; i-- {
		err := os.Rename(fmt.Sprintf("%s.%d", w.path, i), fmt.Sprintf("%s.%d", w.path, i+1))
		if err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// rotateRename is logrotate's "create": rename the file to path.1 and
// create a new one. Like nginx before it reopens its log, the writer puts
// a few more lines into the renamed file first.
func (w *logWriter) rotateRename() error {
	if err := w.shift(); err != nil {
		return err
	}
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return err
	}
	if err := w.write(3); err != nil { // still the old descriptor
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w.f = f
	w.rotated()
	return nil
}

// rotateCopyTruncate is logrotate's "copytruncate": copy the file to
// path.1, then truncate it. The writer does nothing in between, so no line
// may be lost.
func (w *logWriter) rotateCopyTruncate() error {
	if err := w.shift(); err != nil {
		return err
	}
	src, err := os.Open(w.path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(w.path+".1", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := w.f.Truncate(0); err != nil {
		return err
	}
	w.mu.Lock()
	w.lastCT = w.seq
	w.mu.Unlock()
	w.rotated()
	return nil
}

func (w *logWriter) rotated() {
	w.mu.Lock()
	w.rotations++
	w.mu.Unlock()
}

// progress returns the lines written and the rotations done so far.
func (w *logWriter) progress() (lines, rotations int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq, w.rotations
}

// lastCopyTruncate returns how many lines had been written when the file
// was last copied and truncated (0 if never).
func (w *logWriter) lastCopyTruncate() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastCT
}

// snapshot returns a copy of the tally.
func (w *logWriter) snapshot() tally {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := *w.tally
	t.requests = copyMap(w.tally.requests)
	t.respBytes = copyMap(w.tally.respBytes)
	t.byKind = copyMap(w.tally.byKind)
	return t
}

func copyMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
