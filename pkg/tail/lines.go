package tail

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// LineReader splits a byte stream into physical lines without letting one
// huge line take unbounded memory: past the limit the rest of the line is
// skipped and the line is reported as truncated.
type LineReader struct {
	r      *bufio.Reader
	limit  int
	buf    []byte
	offset int64 // offset of the next line
}

// NewLineReader reads lines from r; lines longer than limit bytes are cut.
func NewLineReader(r io.Reader, limit int) *LineReader {
	if limit <= 0 {
		limit = DefaultMaxLineBytes
	}
	return &LineReader{r: bufio.NewReaderSize(r, 256<<10), limit: limit}
}

// Next returns the next line without its '\n', the byte offset it starts
// at, how many bytes it took in the stream, and whether it was cut. At the
// end of the stream a last line without '\n' is returned too (one-shot
// reading treats the end of the file as the end of the line); then io.EOF.
// The returned slice is valid until the next call.
func (lr *LineReader) Next() (line []byte, offset, size int64, truncated bool, err error) {
	lr.buf = lr.buf[:0]
	offset = lr.offset
	for {
		chunk, err := lr.r.ReadSlice('\n')
		size += int64(len(chunk))
		data := chunk
		if err == nil {
			data = chunk[:len(chunk)-1]
		}
		if room := lr.limit - len(lr.buf); len(data) > room {
			truncated = true
			data = data[:max(room, 0)]
		}
		lr.buf = append(lr.buf, data...)
		switch {
		case err == nil:
			lr.offset += size
			return lr.buf, offset, size, truncated, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			lr.offset += size
			if size == 0 {
				return nil, offset, 0, false, io.EOF
			}
			return lr.buf, offset, size, truncated, nil
		default:
			return nil, offset, size, false, fmt.Errorf("read line at offset %d: %w", offset, err)
		}
	}
}
