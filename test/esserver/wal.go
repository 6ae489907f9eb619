package main

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/zincsearch/zincsearch/pkg/core"
	"github.com/zincsearch/zincsearch/pkg/wal"
)

// Zinc writes documents to a per-shard WAL and a background goroutine moves
// them into the searchable index every WAL sync interval. Zinc exposes no
// way to ask whether that has happened, so shardWAL reads the shard's
// unexported WAL handle (layout of the pinned zinc release) and drained
// compares the WAL's last entry with the last entry zinc's redo log
// records as written to the index, exactly the test zinc's consumer makes.

func shardWAL(s *core.IndexShard) *wal.Log {
	f := reflect.ValueOf(s).Elem().FieldByName("wal")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*wal.Log)(nil)) {
		panic("esserver: zinc's IndexShard has no wal field of type *wal.Log; update wal.go for this zinc version")
	}
	return *(**wal.Log)(unsafe.Pointer(f.UnsafeAddr()))
}

func drained(s *core.IndexShard) (bool, error) {
	w := shardWAL(s)
	if w == nil {
		return true, nil // closed
	}
	last, err := w.LastIndex()
	if err != nil {
		return false, err
	}
	if last == 0 {
		return true, nil
	}
	v, err := w.Redo.Read(core.RedoActionWrite)
	if err != nil {
		return false, nil // nothing consumed yet
	}
	_, after, ok := strings.Cut(string(v), ":")
	if !ok {
		return false, fmt.Errorf("unexpected redo log entry %q", v)
	}
	committed, err := strconv.ParseUint(after, 10, 64)
	if err != nil {
		return false, fmt.Errorf("unexpected redo log entry %q", v)
	}
	return committed >= last, nil
}

// waitDrained waits until every open shard of the named indices (all
// indices if names is nil) has moved its WAL into the index.
func waitDrained(ctx context.Context, names []string) error {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
		// Opening the readers opens every shard's WAL, which puts the
		// shard on zinc's consumer list (it may hold documents from
		// before a restart).
		if idx, ok := core.GetIndex(n); ok {
			if rs, err := idx.GetReaders(0, 0); err == nil {
				for _, r := range rs {
					_ = r.Close()
				}
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		pending := ""
		for _, s := range core.ZINC_INDEX_SHARD_WAL_LIST.List() {
			if names != nil && !want[s.GetIndexName()] {
				continue
			}
			ok, err := drained(s)
			if err != nil {
				return fmt.Errorf("shard %s: %w", s.GetShardName(), err)
			}
			if !ok {
				pending = s.GetShardName()
				break
			}
		}
		if pending == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("shard %s still has unindexed documents: %w", pending, ctx.Err())
		case <-tick.C:
		}
	}
}
