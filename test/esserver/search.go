package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/zincsearch/zincsearch/pkg/core"
	zincerrors "github.com/zincsearch/zincsearch/pkg/errors"
	"github.com/zincsearch/zincsearch/pkg/meta"
)

// parseSearch builds a zinc query from an Elasticsearch search or count
// request: the JSON body (optional) and the q, size, from and sort URL
// parameters.
func parseSearch(r *http.Request, count bool) (*meta.ZincQuery, error) {
	q := &meta.ZincQuery{Size: 10}
	if count {
		q.Size = 0
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			return nil, fmt.Errorf("request body is not a JSON object: %w", err)
		}
		// Elasticsearch accepts a number here, zinc only a bool, and zinc
		// always counts exactly anyway.
		delete(fields, "track_total_hits")
		if count {
			fields = map[string]json.RawMessage{"query": fields["query"]}
		}
		rest, _ := json.Marshal(fields)
		if err := json.Unmarshal(rest, q); err != nil {
			return nil, fmt.Errorf("parsing request body: %w", err)
		}
	}
	params := r.URL.Query()
	if v := params.Get("q"); v != "" {
		q.Query = map[string]any{"query_string": map[string]any{"query": v}}
	}
	if !count {
		for name, dst := range map[string]*int{"size": &q.Size, "from": &q.From} {
			if v := params.Get(name); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("invalid %s parameter %q", name, v)
				}
				*dst = n
			}
		}
		if v := params.Get("sort"); v != "" {
			var sorts []any
			for _, s := range strings.Split(v, ",") {
				field, order, _ := strings.Cut(s, ":")
				if order == "" {
					order = "asc"
				}
				sorts = append(sorts, map[string]any{field: map[string]any{"order": order}})
			}
			q.Sort = sorts
		}
	}
	if q.Query == nil {
		q.Query = map[string]any{"match_all": map[string]any{}}
	}
	return q, nil
}

// runSearch runs q over the named indices (existing ones, as resolved by
// resolveIndices). No index at all gives an empty result.
func runSearch(names []string, q *meta.ZincQuery) (*meta.SearchResponse, error) {
	switch len(names) {
	case 0:
		return &meta.SearchResponse{Hits: meta.Hits{Hits: []meta.Hit{}}}, nil
	case 1:
		idx, ok := core.GetIndex(names[0])
		if !ok {
			return &meta.SearchResponse{Hits: meta.Hits{Hits: []meta.Hit{}}}, nil
		}
		return idx.Search(q)
	default:
		return core.MultiSearch(names, q)
	}
}

// countDocs returns the number of documents in the named indices that
// match query (all documents if query is nil).
func countDocs(names []string, query any) (int, error) {
	if query == nil {
		query = map[string]any{"match_all": map[string]any{}}
	}
	resp, err := runSearch(names, &meta.ZincQuery{Query: query, Size: 0})
	if err != nil {
		return 0, err
	}
	return resp.Hits.Total.Value, nil
}

const (
	timestampField        = "@timestamp"
	stashedTimestampField = "esserver_original_timestamp"
)

// restoreSource returns a document source as it was sent: the original
// @timestamp value replaces zinc's rounded one.
func restoreSource(src any) any {
	m, ok := src.(map[string]any)
	if !ok {
		return src
	}
	if ts, has := m[stashedTimestampField]; has {
		m[timestampField] = ts
		delete(m, stashedTimestampField)
	}
	return m
}

type esTotal struct {
	Value    int    `json:"value"`
	Relation string `json:"relation"`
}

type esHit struct {
	Index     string         `json:"_index"`
	ID        string         `json:"_id"`
	Score     float64        `json:"_score"`
	Source    any            `json:"_source,omitempty"`
	Fields    map[string]any `json:"fields,omitempty"`
	Highlight map[string]any `json:"highlight,omitempty"`
}

type esSearchResponse struct {
	Took         int                                 `json:"took"`
	TimedOut     bool                                `json:"timed_out"`
	Shards       meta.Shards                         `json:"_shards"`
	Hits         esHits                              `json:"hits"`
	Aggregations map[string]meta.AggregationResponse `json:"aggregations,omitempty"`
}

type esHits struct {
	Total    esTotal `json:"total"`
	MaxScore float64 `json:"max_score"`
	Hits     []esHit `json:"hits"`
}

func searchError(w http.ResponseWriter, err error) {
	var ze *zincerrors.Error
	if errors.As(err, &ze) && ze.Type != "" {
		writeError(w, http.StatusBadRequest, ze.Type, err.Error())
		return
	}
	writeError(w, http.StatusBadRequest, "search_phase_execution_exception", err.Error())
}

func (s *server) search(w http.ResponseWriter, r *http.Request) {
	names, missing := resolveIndices(r.PathValue("index"))
	if missing != "" {
		indexNotFound(w, missing)
		return
	}
	q, err := parseSearch(r, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parsing_exception", err.Error())
		return
	}
	resp, err := runSearch(names, q)
	if err != nil {
		searchError(w, err)
		return
	}
	out := esSearchResponse{
		Took:         resp.Took,
		TimedOut:     resp.TimedOut,
		Shards:       resp.Shards,
		Aggregations: resp.Aggregations,
		Hits: esHits{
			Total:    esTotal{Value: resp.Hits.Total.Value, Relation: "eq"},
			MaxScore: resp.Hits.MaxScore,
			Hits:     make([]esHit, 0, len(resp.Hits.Hits)),
		},
	}
	for _, h := range resp.Hits.Hits {
		out.Hits.Hits = append(out.Hits.Hits, esHit{
			Index: h.Index, ID: h.ID, Score: h.Score,
			Source: restoreSource(h.Source), Fields: h.Fields, Highlight: h.Highlight,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) count(w http.ResponseWriter, r *http.Request) {
	names, missing := resolveIndices(r.PathValue("index"))
	if missing != "" {
		indexNotFound(w, missing)
		return
	}
	q, err := parseSearch(r, true)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parsing_exception", err.Error())
		return
	}
	n, err := countDocs(names, q.Query)
	if err != nil {
		searchError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"count":   n,
		"_shards": map[string]int{"total": len(names), "successful": len(names), "skipped": 0, "failed": 0},
	})
}

func (s *server) getDoc(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("index"), r.PathValue("id")
	idx, ok := core.GetIndex(name)
	if !ok {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		indexNotFound(w, name)
		return
	}
	hit, err := idx.GetDocument(id)
	if err != nil || hit == nil {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"_index": name, "_id": id, "found": false})
		return
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"_index": name, "_id": id, "_version": 1, "_seq_no": 0, "_primary_term": 1,
		"found": true, "_source": restoreSource(hit.Source),
	})
}
