package tail

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/logmeter/logmeter/internal/atomicfile"
)

// stateFile is the checkpoint in the state directory: read positions and,
// in the same atomic write, whatever the pipeline asks to save with them
// (metric values), so that the two never disagree after a crash.
const stateFile = "positions.json"

// stateVersion changes when the format does; older files are ignored.
const stateVersion = 1

type savedState struct {
	Version int         `json:"version"`
	Files   []savedFile `json:"files"`
	// Gone lists files read to their end and let go recently, so that a
	// restart does not take them for generations it has not read.
	Gone  []goneFile      `json:"gone,omitempty"`
	Extra json.RawMessage `json:"extra,omitempty"`
}

type savedFile struct {
	Path   string `json:"path"`
	Input  string `json:"input"`
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	FPLen  int    `json:"fp_len"`
	FPHash uint64 `json:"fp_hash"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`           // last size seen: what may be lost if the file vanishes
	Real   string `json:"real,omitempty"` // Path with symlinks resolved, where rotated files are
}

type goneFile struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
	At  int64  `json:"at"` // unix nanoseconds it was let go
}

// loadState reads the checkpoint and when it was written. A missing file
// is not an error: it is the first start (found is false).
func loadState(dir, name string) (st savedState, found bool, savedAt time.Time, err error) {
	file, err := os.Open(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return savedState{}, false, time.Time{}, nil
	}
	if err != nil {
		return savedState{}, false, time.Time{}, fmt.Errorf("read checkpoint: %w", err)
	}
	defer file.Close()
	if fi, err := file.Stat(); err == nil {
		savedAt = fi.ModTime()
	}
	st, found, err = decodeState(file, filepath.Join(dir, name))
	return st, found, savedAt, err
}

func decodeState(file io.Reader, path string) (st savedState, found bool, err error) {
	data, err := io.ReadAll(file)
	if err != nil {
		return savedState{}, false, fmt.Errorf("read checkpoint: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return savedState{}, true, fmt.Errorf("checkpoint %s is corrupt: %w", path, err)
	}
	if st.Version != stateVersion {
		return savedState{}, true, fmt.Errorf("checkpoint %s has version %d, want %d", path, st.Version, stateVersion)
	}
	return st, true, nil
}

// saveState writes the checkpoint atomically, so a crash leaves either the
// old or the new checkpoint, never a mix.
func saveState(dir, name string, st savedState) error {
	st.Version = stateVersion
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	if err := atomicfile.Write(dir, name, data); err != nil {
		return err
	}
	return nil
}
