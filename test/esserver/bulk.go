package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/zincsearch/zincsearch/pkg/core"
	zincerrors "github.com/zincsearch/zincsearch/pkg/errors"
	"github.com/zincsearch/zincsearch/pkg/ider"
)

// maxBulkLine bounds one NDJSON line of a bulk request.
const maxBulkLine = 64 << 20

// bulkOp is one action of a bulk request with its source document.
type bulkOp struct {
	action string // index, create, update or delete
	index  string
	id     string
	source []byte // nil for delete
	err    error  // set when the action itself is invalid
}

var seqNo atomic.Int64

// parseBulk splits an NDJSON bulk body into operations. A malformed action
// line fails the whole request (as in Elasticsearch); problems confined to
// one operation are recorded in its err.
func parseBulk(body io.Reader, defaultIndex string) ([]bulkOp, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), maxBulkLine)
	var ops []bulkOp
	line := 0
	next := func() ([]byte, bool) {
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) > 0 {
				return b, true
			}
		}
		return nil, false
	}
	for {
		actionLine, ok := next()
		if !ok {
			break
		}
		var action map[string]json.RawMessage
		if err := json.Unmarshal(actionLine, &action); err != nil || len(action) != 1 {
			return nil, fmt.Errorf("malformed action/metadata line [%d], expected a JSON object with one action", line)
		}
		var op bulkOp
		var metaRaw json.RawMessage
		for k, v := range action {
			op.action, metaRaw = k, v
		}
		switch op.action {
		case "index", "create", "update", "delete":
		default:
			return nil, fmt.Errorf("malformed action/metadata line [%d], unknown action [%s]", line, op.action)
		}
		var md struct {
			Index *string         `json:"_index"`
			ID    json.RawMessage `json:"_id"`
		}
		if err := json.Unmarshal(metaRaw, &md); err != nil {
			return nil, fmt.Errorf("malformed action/metadata line [%d]: %v", line, err)
		}
		op.index = defaultIndex
		if md.Index != nil && *md.Index != "" {
			op.index = *md.Index
		}
		if len(md.ID) > 0 && string(md.ID) != "null" {
			var s string
			if err := json.Unmarshal(md.ID, &s); err == nil {
				op.id = s
			} else {
				op.id = string(md.ID) // a number: Elasticsearch stringifies it
			}
		}
		if op.action != "delete" {
			src, ok := next()
			if !ok {
				return nil, fmt.Errorf("action/metadata line [%d] has no source line; the bulk request must be terminated by a newline", line)
			}
			op.source = bytes.Clone(src)
		}
		switch {
		case op.index == "":
			op.err = errors.New("index is missing")
		case op.id == "" && (op.action == "update" || op.action == "delete"):
			op.err = errors.New("id is missing")
		}
		ops = append(ops, op)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading bulk body: %w", err)
	}
	return ops, nil
}

type bulkItemError struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

type bulkItem struct {
	Index       string         `json:"_index"`
	ID          string         `json:"_id"`
	Version     int            `json:"_version,omitempty"`
	Result      string         `json:"result,omitempty"`
	Shards      map[string]int `json:"_shards,omitempty"`
	SeqNo       int64          `json:"_seq_no,omitempty"`
	PrimaryTerm int            `json:"_primary_term,omitempty"`
	Status      int            `json:"status"`
	Error       *bulkItemError `json:"error,omitempty"`
}

func failedItem(op bulkOp, status int, typ, reason string) bulkItem {
	return bulkItem{Index: op.index, ID: op.id, Status: status, Error: &bulkItemError{Type: typ, Reason: reason}}
}

// apply performs one operation against zinc and describes the outcome.
func apply(op bulkOp) bulkItem {
	if op.err != nil {
		return failedItem(op, http.StatusBadRequest, "action_request_validation_exception", op.err.Error())
	}
	if err := core.CheckIndexName(op.index); err != nil {
		return failedItem(op, http.StatusBadRequest, "invalid_index_name_exception", err.Error())
	}
	ok := func(status int, result string) bulkItem {
		return bulkItem{
			Index: op.index, ID: op.id, Version: 1, Result: result, Status: status,
			Shards: map[string]int{"total": 1, "successful": 1, "failed": 0},
			SeqNo:  seqNo.Add(1), PrimaryTerm: 1,
		}
	}

	if op.action == "delete" {
		idx, exists := core.GetIndex(op.index)
		if !exists {
			item := ok(http.StatusNotFound, "not_found")
			return item
		}
		if err := idx.DeleteDocument(op.id); err != nil {
			if errors.Is(err, zincerrors.ErrorIDNotFound) {
				return ok(http.StatusNotFound, "not_found")
			}
			return failedItem(op, http.StatusInternalServerError, "exception", err.Error())
		}
		return ok(http.StatusOK, "deleted")
	}

	var doc map[string]any
	if err := json.Unmarshal(op.source, &doc); err != nil || doc == nil {
		reason := "failed to parse: source is not a JSON object"
		if err != nil {
			reason = "failed to parse: " + err.Error()
		}
		return failedItem(op, http.StatusBadRequest, "mapper_parsing_exception", reason)
	}
	if op.action == "update" {
		// Partial updates are not supported: the "doc" replaces the
		// document, like zinc's own bulk handler does.
		if inner, isMap := doc["doc"].(map[string]any); isMap {
			doc = inner
		}
	}
	// zinc keeps @timestamp only as a float64 of Unix nanoseconds (about
	// 256ns precision) and drops it from _source; keep the value as sent.
	if ts, has := doc[timestampField]; has {
		doc[stashedTimestampField] = ts
	}
	idx, _, err := core.GetOrCreateIndex(op.index, "", 0)
	if err != nil {
		return failedItem(op, http.StatusInternalServerError, "exception", err.Error())
	}
	update := op.id != ""
	if op.id == "" {
		op.id = ider.Generate()
	}
	// With update set, zinc removes any earlier document with this id when
	// it indexes this one, so re-sending an id overwrites (never 409).
	if err := idx.CreateDocument(op.id, doc, update); err != nil {
		return failedItem(op, http.StatusBadRequest, "mapper_parsing_exception", err.Error())
	}
	if op.action == "update" {
		return ok(http.StatusOK, "updated")
	}
	return ok(http.StatusCreated, "created")
}

func (s *server) bulk(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ops, err := parseBulk(r.Body, r.PathValue("index"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "illegal_argument_exception", err.Error())
		return
	}
	if len(ops) == 0 {
		writeError(w, http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
		return
	}
	items := make([]map[string]bulkItem, 0, len(ops))
	anyFailed := false
	touched := map[string]bool{}
	for _, op := range ops {
		item := apply(op)
		if item.Error != nil {
			anyFailed = true
		} else {
			touched[op.index] = true
		}
		items = append(items, map[string]bulkItem{op.action: item})
	}
	if q := r.URL.Query(); q.Has("refresh") && q.Get("refresh") != "false" {
		names := make([]string, 0, len(touched))
		for n := range touched {
			names = append(names, n)
		}
		if err := waitDrained(r.Context(), names); err != nil {
			writeError(w, http.StatusGatewayTimeout, "timeout_exception", err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"took":   time.Since(start).Milliseconds(),
		"errors": anyFailed,
		"items":  items,
	})
}
