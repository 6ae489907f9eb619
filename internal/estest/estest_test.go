package estest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
)

const testIndex = "logstash-2024.05.01"

// bulkBody is an NDJSON bulk request indexing docs ids [from, to).
func bulkBody(from, to int, action string) []byte {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, `{%q:{"_index":%q,"_id":"doc-%04d"}}`+"\n", action, testIndex, i)
		fmt.Fprintf(&b, `{"@timestamp":"2024-05-01T10:00:%02d.123456789Z","message":"line %d","log":{"offset":%d}}`+"\n", i%60, i, i)
	}
	return b.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type bulkResponse struct {
	Errors bool                        `json:"errors"`
	Items  []map[string]map[string]any `json:"items"`
}

// sendBulk posts a bulk request and checks every item succeeded.
func sendBulk(t *testing.T, s *Server, body []byte, gz bool) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/_bulk", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.User(), s.Password())
	req.Header.Set("Content-Type", "application/x-ndjson")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bulk: %s: %s", resp.Status, data)
	}
	var br bulkResponse
	if err := json.Unmarshal(data, &br); err != nil {
		t.Fatalf("bulk answer: %v: %s", err, data)
	}
	if br.Errors {
		t.Fatalf("bulk reported errors: %s", data)
	}
	for i, item := range br.Items {
		for _, res := range item {
			if st, _ := res["status"].(float64); st < 200 || st > 299 {
				t.Fatalf("bulk item %d: %v", i, res)
			}
		}
	}
}

func checkDocs(t *testing.T, s *Server, want int) {
	t.Helper()
	n, err := s.Count(testIndex)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("Count(%s) = %d, want %d", testIndex, n, want)
	}
	n, err = s.Count("logstash-*")
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("Count(logstash-*) = %d, want %d", n, want)
	}
	ids := s.IDs(testIndex)
	if len(ids) != want {
		t.Errorf("IDs: %d distinct ids, want %d", len(ids), want)
	}
	for i := 0; i < want; i++ {
		id := fmt.Sprintf("doc-%04d", i)
		if ids[id] != 1 {
			t.Errorf("id %s seen %d times, want 1", id, ids[id])
		}
	}
}

func TestServer(t *testing.T) {
	s := Start(t)

	// Credentials are required.
	resp, err := http.Get(s.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET / without credentials: %s, want 401", resp.Status)
	}
	var info struct {
		Version struct {
			Number string `json:"number"`
		} `json:"version"`
	}
	if err := s.call(http.MethodGet, "/", nil, &info); err != nil {
		t.Fatal(err)
	}
	if info.Version.Number == "" || info.Version.Number[0] != '8' {
		t.Errorf("version = %q, want 8.x", info.Version.Number)
	}

	if n, err := s.Count("logstash-*"); err != nil || n != 0 {
		t.Fatalf("Count before indexing = %d, %v; want 0, nil", n, err)
	}

	sendBulk(t, s, bulkBody(0, 500, "create"), false)
	sendBulk(t, s, gzipped(t, bulkBody(500, 1000, "index")), true)
	// Re-send 100 documents with the same ids: they overwrite.
	sendBulk(t, s, gzipped(t, bulkBody(200, 300, "create")), true)
	checkDocs(t, s, 1000)

	res, err := s.Search(testIndex, `{"query":{"term":{"log.offset":42}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || len(res.Hits) != 1 || res.Hits[0].ID != "doc-0042" {
		t.Fatalf("search for offset 42: %+v", res)
	}
	var src map[string]any
	if err := json.Unmarshal(res.Hits[0].Source, &src); err != nil {
		t.Fatal(err)
	}
	if src["@timestamp"] != "2024-05-01T10:00:42.123456789Z" || src["message"] != "line 42" {
		t.Errorf("_source = %v", src)
	}

	s.Stop()
	s.Restart()
	checkDocs(t, s, 1000)

	// Acknowledged documents survive a crash too.
	sendBulk(t, s, bulkBody(1000, 1010, "create"), false)
	s.Kill()
	s.Restart()
	if n, err := s.Count(testIndex); err != nil || n != 1010 {
		t.Errorf("Count after kill and restart = %d, %v; want 1010", n, err)
	}
}
