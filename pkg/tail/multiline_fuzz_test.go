package tail

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/logmeter/logmeter/pkg/logline"
)

// FuzzMultiline feeds lines of both streams to a Multiline and checks what
// must always hold: every input line ends up in exactly one record (the
// records' texts, joined, hold all input lines of their stream in order,
// unless cut at MaxBytes), no record exceeds MaxLines or MaxBytes, and
// nothing stays pending after a forced Flush.
func FuzzMultiline(f *testing.F) {
	f.Add([]byte("Exception in thread\n\tat a.b(C.java:1)\n\tat d\nnext\n"), uint8(4), uint8(200), false)
	f.Add([]byte("2024 start\ncontinued\n2024 again\n\n"), uint8(2), uint8(16), true)
	startRE := regexp.MustCompile(`^\S`)
	contRE := regexp.MustCompile(`^\s`)
	f.Fuzz(func(t *testing.T, data []byte, maxLines, maxBytes uint8, useContinue bool) {
		c := MultilineConfig{MaxLines: int(maxLines%8) + 1, MaxBytes: int(maxBytes) + 1, Timeout: time.Second}
		if useContinue {
			c.Continue = contRE
		} else {
			c.Start = startRE
		}
		m := NewMultiline(c)
		var (
			out    logline.Line
			joined [2][]byte // per stream: record texts joined with '\n'
			want   [2][]byte
			nj, nw [2]int // records and lines joined so far
			cut    [2]bool
			now    = time.Unix(0, 0)
		)
		check := func() {
			s := 0
			if out.Stream == "stderr" {
				s = 1
			}
			if len(out.Text) > c.MaxBytes {
				t.Fatalf("record of %d bytes exceeds MaxBytes %d", len(out.Text), c.MaxBytes)
			}
			if n := bytes.Count(out.Text, []byte("\n")) + 1; n > c.MaxLines && !cut[s] {
				t.Fatalf("record of %d lines exceeds MaxLines %d: %q", n, c.MaxLines, out.Text)
			}
			if nj[s] > 0 {
				joined[s] = append(joined[s], '\n')
			}
			nj[s]++
			joined[s] = append(joined[s], out.Text...)
		}
		for i, line := range bytes.Split(data, []byte("\n")) {
			s := i % 2
			in := logline.Line{Text: line, Offset: int64(i), Stream: [2]string{"stdout", "stderr"}[s]}
			if nw[s] > 0 {
				want[s] = append(want[s], '\n')
			}
			nw[s]++
			want[s] = append(want[s], line...)
			done, reason := m.Add(&in, now, &out)
			if reason == ReasonTooLong {
				cut[s] = true
			}
			if done {
				check()
			}
		}
		for m.Flush(now, true, &out) {
			check()
		}
		if m.Flush(now.Add(time.Hour), true, &out) {
			t.Fatal("a record was pending after Flush returned false")
		}
		for s := range 2 {
			if !cut[s] && !bytes.Equal(joined[s], want[s]) {
				t.Fatalf("stream %d: records joined = %q, want the input lines %q", s, joined[s], want[s])
			}
		}
	})
}
