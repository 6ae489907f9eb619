package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The bad input sweep: each test feeds the real daemon one kind of input an
// operator's node can produce and checks that logmeter says so in its log,
// counts it in a metric, keeps serving /metrics, and counts every line
// written before and after it exactly.

// TestBadInputGarbage interleaves random bytes (NULs, invalid UTF-8, stray
// newlines) with nginx lines. In a plain file every '\n'-terminated line is
// a line; in a CRI file the garbage lines are refused as invalid_cri.
func TestBadInputGarbage(t *testing.T) {
	for _, format := range []string{"plain", "cri"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			c := newBadCount()
			f := c.open(t, filepath.Join(dir, "access.log"), format)
			e := writeBadConfig(t, dir, format, "", f.path)
			f.nginx(t, 200)
			d := e.start(t)
			d.waitLines(c.want.lines, 10*time.Second)

			rng := rand.New(rand.NewPCG(8, uint64(len(format))))
			for range 20 {
				f.garbage(t, rng, 512+rng.IntN(8<<10))
				f.nginx(t, 25)
			}
			if format == "cri" {
				f.criNearMisses(t)
				f.criBinaryMessages(t)
			}
			f.nginx(t, 200)
			d.waitLines(c.want.lines, 15*time.Second)
			ms := d.scrape()
			checkCounts(t, ms, *c.want)
			if v := ms.get("logmeter_decode_errors_total", "input", input, "reason", "invalid_cri"); v != float64(c.invalid) {
				t.Errorf(`logmeter_decode_errors_total{reason="invalid_cri"} = %v, want %d garbage lines`, v, c.invalid)
			}
			if v := ms.get("logmeter_decode_errors_total", "input", input, "reason", "too_long"); v != 0 {
				t.Errorf(`logmeter_decode_errors_total{reason="too_long"} = %v, want 0`, v)
			}
			d.checkAlive()
			t.Logf("%s: %d lines delivered (%d unmatched, %d of them garbage), %d garbage lines refused as invalid_cri",
				format, c.want.lines, c.want.unmatched, c.garbage, c.invalid)
			if format == "cri" {
				t.Run("logged", func(t *testing.T) {
					d.waitLog(t, 5*time.Second, f.path, "cri")
				})
			}
		})
	}
}

// TestBadInputHugeLine writes a 100 MiB line in 1 MiB pieces, with no
// newline until the end, between normal lines: it is delivered cut to
// max_line_bytes and counted once as too_long, the lines after it are
// counted, and logmeter's memory stays bounded meanwhile.
func TestBadInputHugeLine(t *testing.T) {
	const (
		lineBytes = 100 << 20
		chunk     = 1 << 20
		maxRSS    = 200 << 20
	)
	dir := t.TempDir()
	c := newBadCount()
	f := c.open(t, filepath.Join(dir, "access.log"), "plain")
	e := writeBadConfig(t, dir, "plain", "", f.path)
	f.nginx(t, 100)
	d := e.start(t)
	d.waitLines(c.want.lines, 10*time.Second)

	rss := watchRSS(t, d.cmd.Process.Pid)
	begin := time.Now()
	head, _, _, _, _ := nginxLine(c.seq)
	piece := bytes.Repeat([]byte("x"), chunk)
	f.write(t, []byte(head))
	var writePeak int64 // sampled here too, so that some samples surely fall inside the write
	for i, written := 0, len(head); written < lineBytes; i, written = i+1, written+chunk {
		f.write(t, piece[:min(chunk, lineBytes-written)])
		if i%8 == 0 {
			n, err := readRSS(d.cmd.Process.Pid)
			if err != nil {
				t.Fatalf("reading the RSS of logmeter: %v", err)
			}
			writePeak = max(writePeak, n)
		}
	}
	f.write(t, []byte("\n"))
	c.unmatchedLines(1)
	writeTime := time.Since(begin)
	f.nginx(t, 100)
	d.waitLines(c.want.lines, 30*time.Second)
	peak, samples := rss.stop()
	peak = max(peak, writePeak)
	t.Logf("100 MiB line written in %s, all read after %s; VmRSS %.1f MiB before, peak %.1f MiB (%.1f MiB in the samples taken while writing) over %d+13 samples",
		writeTime.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond),
		float64(rss.base)/(1<<20), float64(peak)/(1<<20), float64(writePeak)/(1<<20), samples)
	if peak >= maxRSS {
		t.Errorf("VmRSS peaked at %.1f MiB while the 100 MiB line was written and read, want below %d MiB", float64(peak)/(1<<20), maxRSS>>20)
	}

	ms := d.scrape()
	checkCounts(t, ms, *c.want)
	if v := ms.get("logmeter_decode_errors_total", "input", input, "reason", "too_long"); v != 1 {
		t.Errorf(`logmeter_decode_errors_total{reason="too_long"} = %v, want 1`, v)
	}
	if v := ms.get("logmeter_bytes_read_total", "input", input); v != float64(c.want.bytes) {
		t.Errorf("logmeter_bytes_read_total = %v, want %d bytes written", v, c.want.bytes)
	}
	d.checkAlive()
	t.Run("logged", func(t *testing.T) {
		d.waitLog(t, 5*time.Second, f.path, "long")
	})
}

// TestBadInputNotRegular: the input's glob matches a directory and a FIFO
// named like log files, and a followed file is deleted and replaced by a
// FIFO. Each is reported once as not_regular; nothing blocks on a FIFO;
// the regular files' lines are all counted.
func TestBadInputNotRegular(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	c := newBadCount()
	good := c.open(t, filepath.Join(logs, "good.log"), "plain")
	other := c.open(t, filepath.Join(logs, "z.log"), "plain")
	asDir, asFIFO := filepath.Join(logs, "x.log"), filepath.Join(logs, "y.log")
	if err := os.Mkdir(asDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(asFIFO, 0o644); err != nil {
		t.Fatal(err)
	}
	e := writeBadConfig(t, dir, "plain", "", filepath.Join(logs, "*.log"))
	good.nginx(t, 100)
	other.nginx(t, 50)
	d := e.start(t)
	d.waitLines(c.want.lines, 10*time.Second)
	notRegular := func() float64 {
		return d.scrape().get("logmeter_file_errors_total", "input", input, "reason", "not_regular")
	}
	// Settled over five scans: reported once, not at every scan.
	if v := waitSettled(t, 10*time.Second, time.Second, 2, notRegular); v != 2 {
		t.Errorf(`logmeter_file_errors_total{reason="not_regular"} = %v with a directory and a FIFO matched, want 2`, v)
	}
	d.waitLog(t, 5*time.Second, "cannot follow", asDir, "directory")
	d.waitLog(t, 5*time.Second, "cannot follow", asFIFO, "named pipe")

	// The followed z.log gets its last lines, is deleted, and a FIFO takes
	// its path.
	other.nginx(t, 30)
	if err := other.f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(other.path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(other.path, 0o644); err != nil {
		t.Fatal(err)
	}
	good.nginx(t, 100)
	d.waitLines(c.want.lines, 10*time.Second)
	if v := waitSettled(t, 10*time.Second, time.Second, 3, notRegular); v != 3 {
		t.Errorf(`logmeter_file_errors_total{reason="not_regular"} = %v after z.log became a FIFO, want 3`, v)
	}
	d.waitLog(t, 5*time.Second, "cannot follow", other.path, "named pipe")
	good.nginx(t, 100) // still read after the FIFO appeared
	d.waitLines(c.want.lines, 10*time.Second)
	checkCounts(t, d.scrape(), *c.want)
	d.checkAlive()
}

// TestBadInputPermissionDenied: a matched file logmeter may not open is
// reported as permission_denied; once readable it is followed.
func TestBadInputPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: file permissions are not enforced, so a mode 000 file cannot be made unreadable")
	}
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	c := newBadCount()
	good := c.open(t, filepath.Join(logs, "good.log"), "plain")
	secretPath := filepath.Join(logs, "secret.log")
	secret := newBadCount() // counted only once logmeter may read it
	hidden := secret.open(t, secretPath, "plain")
	hidden.nginx(t, 40)
	if err := os.Chmod(secretPath, 0); err != nil {
		t.Fatal(err)
	}
	e := writeBadConfig(t, dir, "plain", "", filepath.Join(logs, "*.log"))
	good.nginx(t, 100)
	d := e.start(t)
	denied := func() float64 {
		return d.scrape().get("logmeter_file_errors_total", "input", input, "reason", "permission_denied")
	}
	if v := waitSettled(t, 10*time.Second, time.Second, 1, denied); v != 1 {
		t.Errorf(`logmeter_file_errors_total{reason="permission_denied"} = %v, want 1`, v)
	}
	d.waitLog(t, 5*time.Second, "cannot follow", secretPath, "permission denied")
	good.nginx(t, 100)
	d.waitLines(c.want.lines, 10*time.Second)
	checkCounts(t, d.scrape(), *c.want)

	// Readable again: followed from its start, its lines join the count.
	if err := os.Chmod(secretPath, 0o644); err != nil {
		t.Fatal(err)
	}
	for seq := range secret.seq {
		c.want.add(seq, 0)
	}
	c.want.bytes += secret.want.bytes
	good.nginx(t, 50)
	d.waitLines(c.want.lines, 10*time.Second)
	checkCounts(t, d.scrape(), *c.want)
	d.checkAlive()
}

// TestBadInputMissingDirectory: an input's glob lies under a directory
// that does not exist. logmeter starts, says so once, and follows the
// files once the directory appears.
func TestBadInputMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	c := newBadCount()
	good := c.open(t, filepath.Join(dir, "good.log"), "plain")
	later := filepath.Join(dir, "later")
	e := writeBadConfig(t, dir, "plain", "", good.path, filepath.Join(later, "*.log"))
	good.nginx(t, 100)
	d := e.start(t)
	d.waitLines(c.want.lines, 10*time.Second)
	missing := func() float64 {
		return d.scrape().get("logmeter_file_errors_total", "input", input, "reason", "missing_directory")
	}
	if v := waitSettled(t, 10*time.Second, time.Second, 1, missing); v != 1 {
		t.Errorf(`logmeter_file_errors_total{reason="missing_directory"} = %v, want 1`, v)
	}
	d.waitLog(t, 5*time.Second, "does not exist", later)

	if err := os.Mkdir(later, 0o755); err != nil {
		t.Fatal(err)
	}
	app := c.open(t, filepath.Join(later, "app.log"), "plain")
	app.nginx(t, 80)
	good.nginx(t, 100)
	d.waitLines(c.want.lines, 10*time.Second)
	ms := d.scrape()
	checkCounts(t, ms, *c.want)
	if v := ms.get("logmeter_file_errors_total", "input", input, "reason", "missing_directory"); v != 1 {
		t.Errorf(`logmeter_file_errors_total{reason="missing_directory"} = %v after the directory appeared, want 1`, v)
	}
	d.checkAlive()
}

// TestBadInputStateDir: checkpoints that cannot be written. state_dir
// under a regular file can never be created; a state_dir on a full file
// system fails after the start. Reading goes on, each failed checkpoint is
// logged and counted, and the last good checkpoint stays intact.
func TestBadInputStateDir(t *testing.T) {
	t.Run("unusable", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "not-a-directory")
		if err := os.WriteFile(file, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c := newBadCount()
		f := c.open(t, filepath.Join(dir, "access.log"), "plain")
		e := writeBadConfig(t, dir, "plain", filepath.Join(file, "state"), f.path)
		f.nginx(t, 100)
		d := e.start(t)
		d.waitLines(c.want.lines, 10*time.Second)
		errs := func() float64 { return d.scrape().get("logmeter_checkpoint_errors_total") }
		waitFor(t, 10*time.Second, "failed checkpoints to be counted", func() (bool, string) {
			v := errs()
			return v >= 2, fmt.Sprintf("logmeter_checkpoint_errors_total %v", v)
		})
		d.waitLog(t, 5*time.Second, "checkpoint failed", "not a directory")
		f.nginx(t, 100)
		d.waitLines(c.want.lines, 10*time.Second)
		checkCounts(t, d.scrape(), *c.want)
		d.checkAlive()
		failed := errs()
		// The last checkpoint at SIGTERM fails too, and the exit says why.
		code := d.stop(syscall.SIGTERM, 10*time.Second)
		d.waitLog(t, time.Second, "create state directory", "not a directory")
		t.Logf("state_dir under a regular file: logmeter runs; %v failed checkpoints, exit status %d after SIGTERM", failed, code)
	})

	t.Run("full", func(t *testing.T) {
		dir := t.TempDir()
		state := filepath.Join(dir, "state")
		mountSmallFS(t, state, "256k")
		c := newBadCount()
		f := c.open(t, filepath.Join(dir, "access.log"), "plain")
		e := writeBadConfig(t, dir, "plain", state, f.path)
		f.nginx(t, 100)
		d := e.start(t)
		d.waitLines(c.want.lines, 10*time.Second)
		saved := func() float64 { v, _ := checkpointLinesRead(t, state); return v }
		waitFor(t, 10*time.Second, "a checkpoint of 100 lines", func() (bool, string) {
			v := saved()
			return v == 100, fmt.Sprintf("positions.json has lines_read %v", v)
		})

		filler := fillFS(t, filepath.Join(state, "filler"))
		errs := func() float64 { return d.scrape().get("logmeter_checkpoint_errors_total") }
		before := errs()
		f.nginx(t, 100)
		d.waitLines(c.want.lines, 10*time.Second)
		waitFor(t, 10*time.Second, "failed checkpoints to be counted", func() (bool, string) {
			v := errs()
			return v >= before+2, fmt.Sprintf("logmeter_checkpoint_errors_total %v (was %v)", v, before)
		})
		d.waitLog(t, 5*time.Second, "checkpoint failed", "no space left on device")
		checkCounts(t, d.scrape(), *c.want)
		if v := saved(); v != 100 {
			t.Errorf("positions.json has lines_read %v while the disk is full, want the last good checkpoint's 100", v)
		}

		// Space again: the next checkpoint catches up, and a restart after
		// SIGKILL continues from it without losing or recounting a line.
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "a checkpoint of every line", func() (bool, string) {
			v := saved()
			return v == float64(c.want.lines), fmt.Sprintf("positions.json has lines_read %v, want %d", v, c.want.lines)
		})
		failed := errs()
		d.checkAlive()
		d.kill()
		f.nginx(t, 50)
		d = e.start(t)
		d.waitLines(c.want.lines, 10*time.Second)
		checkCounts(t, d.scrape(), *c.want)
		t.Logf("full state_dir: %v failed checkpoints, then caught up; counts exact after a SIGKILL and restart", failed)
	})
}

// badEnv is a configuration with one input, named input, that follows
// paths in a format.
type badEnv struct {
	cfgPath, base string
}

// writeBadConfig writes dir/logmeter.yaml for paths with the nginx rules;
// stateDir "" means dir/state.
func writeBadConfig(t *testing.T, dir, format, stateDir string, paths ...string) *badEnv {
	t.Helper()
	if stateDir == "" {
		stateDir = filepath.Join(dir, "state")
	}
	addr := freeAddr(t)
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = strconv.Quote(p)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n  listen: %q\n", addr)
	fmt.Fprintf(&b, "inputs:\n  - name: %s\n    paths: [%s]\n    format: %s\n    start_at: beginning\n", input, strings.Join(quoted, ", "), format)
	fmt.Fprintf(&b, "rules: [%q]\nstate_dir: %q\ntail: %s\n", nginxRules(), stateDir, defaultTail)
	p := filepath.Join(dir, "logmeter.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return &badEnv{cfgPath: p, base: "http://" + addr}
}

func (e *badEnv) start(t *testing.T) *daemon {
	t.Helper()
	return startDaemon(t, e.cfgPath, e.base, nil, [2]string{})
}

// badCount is what the lines written to an input's files should produce,
// counted independently of logmeter: the nginx lines by sequence number,
// garbage lines as unmatched (plain) or refused (CRI).
type badCount struct {
	seq     int
	want    *tally
	invalid int // lines the CRI decoder must refuse as invalid_cri
	garbage int // garbage lines delivered as lines (plain)
}

func newBadCount() *badCount { return &badCount{want: newTally()} }

func (c *badCount) unmatchedLines(n int) {
	c.want.lines += n
	c.want.unmatched += n
	c.want.byKind[""] += n
}

// badFeed appends to one log file.
type badFeed struct {
	c    *badCount
	path string
	f    *os.File
	cri  bool
}

func (c *badCount) open(t *testing.T, path, format string) *badFeed {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &badFeed{c: c, path: path, f: f, cri: format == "cri"}
}

func (f *badFeed) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := f.f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.c.want.bytes += int64(len(b))
}

// criTime frames messages as containerd writes them.
const criTime = "2024-05-01T12:00:00.000000000Z"

// nginx appends n numbered nginx lines, in CRI framing for a CRI file.
func (f *badFeed) nginx(t *testing.T, n int) {
	t.Helper()
	var b bytes.Buffer
	for range n {
		text, _, _, _, _ := nginxLine(f.c.seq)
		if f.cri {
			b.WriteString(criTime + " stdout F ")
		}
		b.WriteString(text)
		b.WriteByte('\n')
		f.c.want.add(f.c.seq, 0) // write counts the bytes
		f.c.seq++
	}
	f.write(t, b.Bytes())
}

// invalidUTF8 holds byte sequences no UTF-8 decoder accepts.
var invalidUTF8 = []string{"\xff", "\xfe\xff", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80", "\xe2\x82"}

// garbage appends about n bytes of binary junk ending in '\n': random
// bytes (newlines among them), runs of NULs as a crash leaves in a
// preallocated file, and invalid UTF-8.
func (f *badFeed) garbage(t *testing.T, rng *rand.Rand, n int) {
	t.Helper()
	b := make([]byte, 0, n+1)
	for len(b) < n {
		switch rng.IntN(3) {
		case 0:
			for range 1 + rng.IntN(300) {
				b = append(b, byte(rng.UintN(256)))
			}
		case 1:
			b = append(b, make([]byte, 1+rng.IntN(600))...)
		default:
			b = append(b, invalidUTF8[rng.IntN(len(invalidUTF8))]...)
		}
	}
	b = append(b, '\n')
	lines := bytes.Count(b, []byte("\n"))
	if f.cri {
		f.c.invalid += lines
	} else {
		f.c.unmatchedLines(lines)
		f.c.garbage += lines
	}
	f.write(t, b)
}

// criNearMisses appends lines that look almost like CRI: each one must be
// refused.
func (f *badFeed) criNearMisses(t *testing.T) {
	t.Helper()
	text, _, _, _, _ := nginxLine(f.c.seq)
	lines := []string{
		text, // no CRI framing
		"not-a-time stdout F " + text,
		criTime + " stdin F " + text,
		criTime + " stdout X " + text,
		criTime + "\x00stdout F " + text,
		"",
	}
	for _, l := range lines {
		f.write(t, []byte(l+"\n"))
	}
	f.c.invalid += len(lines)
}

// criBinaryMessages appends valid CRI lines whose messages are binary:
// they are delivered (and match no rule).
func (f *badFeed) criBinaryMessages(t *testing.T) {
	t.Helper()
	msgs := []string{"\x00\x00\x00\x00", "\xff\xfe binary \x00 message", "\xed\xa0\x80"}
	for _, m := range msgs {
		f.write(t, []byte(criTime+" stdout F "+m+"\n"))
	}
	f.c.unmatchedLines(len(msgs))
}

// checkAlive fails the test unless the process still runs and serves
// /metrics.
func (d *daemon) checkAlive() {
	d.t.Helper()
	select {
	case <-d.done:
		d.t.Fatalf("logmeter exited: %v\n%s", d.err, tail(d.stderr.String(), 40))
	default:
	}
	if ms := d.scrape(); len(ms) == 0 {
		d.t.Fatal("/metrics serves no metric families")
	}
}

// waitLog waits for a line of the process's output that contains every
// one of parts, ignoring case.
func (d *daemon) waitLog(t *testing.T, timeout time.Duration, parts ...string) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("a log line with %q", parts), func() (bool, string) {
		for l := range strings.SplitSeq(strings.ToLower(d.stderr.String()), "\n") {
			all := true
			for _, p := range parts {
				if !strings.Contains(l, strings.ToLower(p)) {
					all = false
					break
				}
			}
			if all {
				return true, ""
			}
		}
		return false, "no such line in:\n" + tail(d.stderr.String(), 20)
	})
}

// rssWatch samples a process's resident set size until stopped.
type rssWatch struct {
	stopc, done chan struct{}
	base        int64 // when the watch started
	peak        int64 // written by the sampler until done is closed
	samples     int
}

// watchRSS samples /proc/pid/status every 10ms.
func watchRSS(t *testing.T, pid int) *rssWatch {
	t.Helper()
	base, err := readRSS(pid)
	if err != nil {
		t.Fatalf("reading the RSS of logmeter: %v", err)
	}
	w := &rssWatch{stopc: make(chan struct{}), done: make(chan struct{}), base: base}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(10 * time.Millisecond) // sampling rate, not synchronisation
		defer tick.Stop()
		for {
			if n, err := readRSS(pid); err == nil {
				w.peak = max(w.peak, n)
				w.samples++
			}
			select {
			case <-w.stopc:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			close(w.stopc)
			<-w.done
		}
	})
	return w
}

// stop ends the sampling and returns the peak and the number of samples.
func (w *rssWatch) stop() (peak int64, samples int) {
	close(w.stopc)
	<-w.done
	return w.peak, w.samples
}

// readRSS returns VmRSS of pid in bytes.
func readRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for l := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			fields := strings.Fields(v) // "12345 kB"
			if len(fields) == 0 {
				break
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// mountSmallFS mounts a tmpfs of size at dir (created), or skips the test
// when mounting is not allowed.
func mountSmallFS(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("a full state_dir needs a small file system: mount -t tmpfs failed (%v: %s); run as root to cover it", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// fillFS writes path until the file system is full and returns path.
func fillFS(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4<<10)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", path, err)
			}
			return path
		}
	}
}
