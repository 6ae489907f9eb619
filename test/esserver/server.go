package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/zincsearch/zincsearch/pkg/auth"
	"github.com/zincsearch/zincsearch/pkg/core"
)

// esVersion is the Elasticsearch version esserver claims to be.
const esVersion = "8.13.0"

type server struct {
	log     *log.Logger
	verbose bool
}

func newServer(logger *log.Logger, verbose bool) *server {
	return &server{log: logger, verbose: verbose}
}

// handler returns the whole HTTP API: routes behind basic auth and gzip
// request decoding, plus unauthenticated readiness endpoints.
func (s *server) handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /{$}", s.info)

	api.HandleFunc("POST /_bulk", s.bulk)
	api.HandleFunc("PUT /_bulk", s.bulk)
	api.HandleFunc("POST /{index}/_bulk", s.bulk)
	api.HandleFunc("PUT /{index}/_bulk", s.bulk)

	api.HandleFunc("GET /_search", s.search)
	api.HandleFunc("POST /_search", s.search)
	api.HandleFunc("GET /{index}/_search", s.search)
	api.HandleFunc("POST /{index}/_search", s.search)

	api.HandleFunc("GET /_count", s.count)
	api.HandleFunc("POST /_count", s.count)
	api.HandleFunc("GET /{index}/_count", s.count)
	api.HandleFunc("POST /{index}/_count", s.count)

	api.HandleFunc("GET /{index}/_doc/{id}", s.getDoc)

	api.HandleFunc("GET /_refresh", s.refresh)
	api.HandleFunc("POST /_refresh", s.refresh)
	api.HandleFunc("GET /{index}/_refresh", s.refresh)
	api.HandleFunc("POST /{index}/_refresh", s.refresh)

	api.HandleFunc("GET /_cat/indices", s.catIndices)
	api.HandleFunc("GET /_cat/indices/{index}", s.catIndices)

	api.HandleFunc("PUT /{index}", s.createIndex)
	api.HandleFunc("GET /{index}", s.getIndex)
	api.HandleFunc("DELETE /{index}", s.deleteIndex)

	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusBadRequest, "illegal_argument_exception",
			fmt.Sprintf("esserver does not implement [%s %s]", r.Method, r.URL.Path))
	})

	root := http.NewServeMux()
	ready := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "green"})
	}
	root.HandleFunc("GET /_health", ready)
	root.HandleFunc("GET /readyz", ready)
	root.Handle("/", requireAuth(decodeGzip(api)))
	return s.logRequests(withProductHeader(root))
}

func (s *server) logRequests(next http.Handler) http.Handler {
	if !s.verbose {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.Printf("%s %s %d %s", r.Method, r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Microsecond))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// withProductHeader adds the header official Elasticsearch clients check.
func withProductHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		next.ServeHTTP(w, r)
	})
}

// requireAuth checks HTTP basic credentials against zinc's user store.
func requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, "security_exception",
				fmt.Sprintf("missing authentication credentials for REST request [%s]", r.URL.Path))
			return
		}
		if _, valid := auth.VerifyCredentials(user, password); !valid {
			w.Header().Set("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, "security_exception",
				fmt.Sprintf("unable to authenticate user [%s] for REST request [%s]", user, r.URL.Path))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// decodeGzip replaces a gzip-encoded request body by its decoded stream.
func decodeGzip(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
		switch enc {
		case "", "identity":
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				writeError(w, http.StatusBadRequest, "parse_exception", "invalid gzip request body: "+err.Error())
				return
			}
			defer zr.Close()
			r.Body = zr
			r.ContentLength = -1
			r.Header.Del("Content-Encoding")
			r.Header.Del("Content-Length")
		default:
			writeError(w, http.StatusBadRequest, "illegal_argument_exception", "unsupported Content-Encoding "+enc)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"type":"exception","reason":"encoding response"},"status":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

// esError is Elasticsearch's error body.
func esError(typ, reason string) map[string]any {
	cause := map[string]any{"type": typ, "reason": reason}
	return map[string]any{"root_cause": []any{cause}, "type": typ, "reason": reason}
}

func writeError(w http.ResponseWriter, status int, typ, reason string) {
	writeJSON(w, status, map[string]any{"error": esError(typ, reason), "status": status})
}

func indexNotFound(w http.ResponseWriter, name string) {
	writeError(w, http.StatusNotFound, "index_not_found_exception", "no such index ["+name+"]")
}

func (s *server) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"name":         "esserver",
		"cluster_name": "esserver",
		"cluster_uuid": "esserver-zincsearch",
		"version": map[string]any{
			"number":                              esVersion,
			"build_flavor":                        "default",
			"build_type":                          "tar",
			"build_hash":                          "esserver",
			"build_date":                          "2024-01-01T00:00:00.000Z",
			"build_snapshot":                      false,
			"lucene_version":                      "9.10.0",
			"minimum_wire_compatibility_version":  "7.17.0",
			"minimum_index_compatibility_version": "7.0.0",
		},
		"tagline": "You Know, for Search",
	})
}

// resolveIndices expands an index expression (comma-separated names and
// wildcard patterns, "_all" or empty for everything) to existing index
// names, sorted. A concrete name that does not exist is returned as missing.
func resolveIndices(expr string) (names []string, missing string) {
	all := core.ZINC_INDEX_LIST.List()
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if expr == "" || expr == "_all" {
		expr = "*"
	}
	for _, part := range strings.Split(expr, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.ContainsAny(part, "*?") {
			if _, ok := core.GetIndex(part); ok {
				add(part)
			} else if missing == "" {
				missing = part
			}
			continue
		}
		for _, idx := range all {
			if ok, _ := path.Match(part, idx.GetName()); ok {
				add(idx.GetName())
			}
		}
	}
	sort.Strings(names)
	return names, missing
}

func (s *server) createIndex(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("index")
	if err := core.CheckIndexName(name); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_index_name_exception", err.Error())
		return
	}
	if _, ok := core.GetIndex(name); ok {
		writeError(w, http.StatusBadRequest, "resource_already_exists_exception", "index ["+name+"] already exists")
		return
	}
	if _, _, err := core.GetOrCreateIndex(name, "", 0); err != nil {
		writeError(w, http.StatusInternalServerError, "exception", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name})
}

// getIndex answers GET /{index} and, as "GET" patterns also match HEAD
// requests, the existence check HEAD /{index}.
func (s *server) getIndex(w http.ResponseWriter, r *http.Request) {
	names, missing := resolveIndices(r.PathValue("index"))
	if r.Method == http.MethodHead {
		if missing != "" || len(names) == 0 {
			w.WriteHeader(http.StatusNotFound)
		} else {
			w.WriteHeader(http.StatusOK)
		}
		return
	}
	if missing != "" {
		indexNotFound(w, missing)
		return
	}
	out := map[string]any{}
	for _, n := range names {
		out[n] = map[string]any{"aliases": map[string]any{}, "mappings": map[string]any{}, "settings": map[string]any{}}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) deleteIndex(w http.ResponseWriter, r *http.Request) {
	names, missing := resolveIndices(r.PathValue("index"))
	if missing != "" {
		indexNotFound(w, missing)
		return
	}
	for _, n := range names {
		if err := core.DeleteIndex(n); err != nil {
			writeError(w, http.StatusInternalServerError, "exception", err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

// refresh waits until everything written to the selected indices is
// searchable (zinc's WAL consumer has moved it into the index).
func (s *server) refresh(w http.ResponseWriter, r *http.Request) {
	names, missing := resolveIndices(r.PathValue("index"))
	if missing != "" {
		indexNotFound(w, missing)
		return
	}
	if err := waitDrained(r.Context(), names); err != nil {
		writeError(w, http.StatusGatewayTimeout, "timeout_exception", err.Error())
		return
	}
	n := len(names)
	writeJSON(w, http.StatusOK, map[string]any{"_shards": map[string]int{"total": n, "successful": n, "failed": 0}})
}

type catIndex struct {
	Health      string `json:"health"`
	Status      string `json:"status"`
	Index       string `json:"index"`
	UUID        string `json:"uuid"`
	Pri         string `json:"pri"`
	Rep         string `json:"rep"`
	DocsCount   string `json:"docs.count"`
	DocsDeleted string `json:"docs.deleted"`
	StoreSize   string `json:"store.size"`
	PriSize     string `json:"pri.store.size"`
}

// catIndices lists indices with their searchable document counts.
func (s *server) catIndices(w http.ResponseWriter, r *http.Request) {
	names, missing := resolveIndices(r.PathValue("index"))
	if missing != "" {
		indexNotFound(w, missing)
		return
	}
	rows := make([]catIndex, 0, len(names))
	for _, n := range names {
		idx, ok := core.GetIndex(n)
		if !ok {
			continue
		}
		count, err := countDocs([]string{n}, nil)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "exception", err.Error())
			return
		}
		size := fmt.Sprintf("%db", idx.GetStats().StorageSize)
		rows = append(rows, catIndex{
			Health: "green", Status: "open", Index: n, UUID: n,
			Pri: fmt.Sprint(idx.GetShardNum()), Rep: "0",
			DocsCount: fmt.Sprint(count), DocsDeleted: "0",
			StoreSize: size, PriSize: size,
		})
	}
	if r.URL.Query().Get("format") == "json" {
		writeJSON(w, http.StatusOK, rows)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	var b strings.Builder
	if _, ok := r.URL.Query()["v"]; ok {
		b.WriteString("health status index uuid pri rep docs.count docs.deleted store.size pri.store.size\n")
	}
	for _, c := range rows {
		fmt.Fprintf(&b, "%s %s %s %s %s %s %s %s %s %s\n", c.Health, c.Status, c.Index, c.UUID, c.Pri, c.Rep, c.DocsCount, c.DocsDeleted, c.StoreSize, c.PriSize)
	}
	_, _ = w.Write([]byte(b.String()))
}
