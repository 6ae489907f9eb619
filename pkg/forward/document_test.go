package forward

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logmeter/logmeter/pkg/logline"
)

// decodeDoc parses one document and fails the test if it is not a single,
// valid JSON object.
func decodeDoc(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	if !json.Valid(doc) {
		t.Fatalf("not valid JSON: %q", doc)
	}
	if bytes.IndexByte(doc, '\n') >= 0 {
		t.Fatalf("document holds a raw newline (breaks NDJSON): %q", doc)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %q: %v", doc, err)
	}
	if dec.More() {
		t.Fatalf("trailing data after the document: %q", doc)
	}
	return m
}

// field walks a dotted path of nested objects ("log.file.path").
func field(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = o[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func wantField(t *testing.T, m map[string]any, path string, want any) {
	t.Helper()
	got, ok := field(m, path)
	if !ok {
		t.Errorf("field %s missing in %v", path, m)
		return
	}
	if n, isNum := got.(json.Number); isNum {
		got = n.String()
	}
	if got != want {
		t.Errorf("field %s = %#v, want %#v", path, got, want)
	}
}

func wantNoField(t *testing.T, m map[string]any, path string) {
	t.Helper()
	if v, ok := field(m, path); ok {
		t.Errorf("field %s = %#v, want it absent", path, v)
	}
}

func testLine() *logline.Line {
	return &logline.Line{
		Text:   []byte(`GET /index.html 200`),
		Stream: "stdout",
		Input:  "containers",
		Source: "/var/log/containers/web-0_shop_nginx-abc.log",
		Offset: 4096,
		File:   logline.FileRef{Dev: 66, Ino: 1234, Head: 0xfeedface},
	}
}

func TestAppendDocumentFields(t *testing.T) {
	l := testLine()
	// A timestamp in another zone, with nanoseconds: written in UTC.
	ts := time.Date(2024, 5, 1, 1, 2, 3, 123456789, time.FixedZone("CEST", 2*3600))
	m := decodeDoc(t, appendDocument(nil, l, ts, "node-1", "", nil))
	wantField(t, m, "@timestamp", "2024-04-30T23:02:03.123456789Z")
	if s, _ := m["@timestamp"].(string); s != "" {
		p, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !p.Equal(ts) {
			t.Errorf("@timestamp %q parses to %v, %v; want %v", s, p, err, ts)
		}
	}
	wantField(t, m, "message", "GET /index.html 200")
	wantField(t, m, "stream", "stdout")
	wantField(t, m, "log.file.path", l.Source)
	wantField(t, m, "log.offset", "4096")
	wantField(t, m, "event.dataset", "containers")
	wantField(t, m, "host.name", "node-1")
	wantNoField(t, m, "kubernetes")
	if len(m) != 6 {
		t.Errorf("top-level keys %v, want @timestamp message stream log event host", keysOf(m))
	}
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestAppendDocumentOptionalFieldsOmitted(t *testing.T) {
	l := &logline.Line{Text: []byte("plain"), Source: "/var/log/app.log", Offset: 0}
	ts := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	m := decodeDoc(t, appendDocument(nil, l, ts, "", "", nil))
	// Whole seconds: RFC 3339 without a fraction.
	wantField(t, m, "@timestamp", "2024-05-01T12:00:00Z")
	wantField(t, m, "log.offset", "0")
	wantField(t, m, "log.file.path", "/var/log/app.log")
	for _, p := range []string{"stream", "event", "host", "kubernetes"} {
		wantNoField(t, m, p)
	}
}

func TestAppendDocumentKubernetes(t *testing.T) {
	l := testLine()
	l.Kube = &logline.Kube{
		Namespace: "shop", Pod: "web-0", PodUID: "0d3f-uid", Container: "nginx", Node: "node-1",
		Labels: map[string]string{"app": "web", "tier": "front\"end", "app.kubernetes.io/name": "nginx", "b": ""},
	}
	ts := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	doc := appendDocument(nil, l, ts, "node-1", "", nil)
	m := decodeDoc(t, doc)
	wantField(t, m, "kubernetes.namespace", "shop")
	wantField(t, m, "kubernetes.pod.name", "web-0")
	wantField(t, m, "kubernetes.pod.uid", "0d3f-uid")
	wantField(t, m, "kubernetes.container.name", "nginx")
	wantField(t, m, "kubernetes.node.name", "node-1")
	labels, _ := field(m, "kubernetes.labels")
	lm, _ := labels.(map[string]any)
	if len(lm) != 4 || lm["app"] != "web" || lm["tier"] != `front"end` || lm["app.kubernetes.io/name"] != "nginx" || lm["b"] != "" {
		t.Errorf("kubernetes.labels = %v", labels)
	}
	// Labels are written sorted, so the same pod always gives the same bytes.
	want := `"labels":{"app":"web","app.kubernetes.io/name":"nginx","b":"","tier":"front\"end"}`
	if !bytes.Contains(doc, []byte(want)) {
		t.Errorf("labels not sorted: %s\nwant it to contain %s", doc, want)
	}
	for range 20 {
		if again := appendDocument(nil, l, ts, "node-1", "", nil); !bytes.Equal(again, doc) {
			t.Fatalf("document not deterministic:\n%s\n%s", doc, again)
		}
	}

	// Without UID, node and labels, those keys are left out.
	l.Kube = &logline.Kube{Namespace: "ns", Pod: "p", Container: "c"}
	m = decodeDoc(t, appendDocument(nil, l, ts, "", "", nil))
	wantField(t, m, "kubernetes.pod.name", "p")
	wantNoField(t, m, "kubernetes.pod.uid")
	wantNoField(t, m, "kubernetes.node")
	wantNoField(t, m, "kubernetes.labels")
}

func TestAppendDocumentCaptures(t *testing.T) {
	l := testLine()
	ts := time.Unix(0, 0)
	caps := []Capture{{"status", "200"}, {"path", `/a"b\c`}, {"ctl", "x\ty"}}
	m := decodeDoc(t, appendDocument(nil, l, ts, "", "grok", caps))
	wantField(t, m, "grok.status", "200")
	wantField(t, m, "grok.path", `/a"b\c`)
	wantField(t, m, "grok.ctl", "x\ty")

	// No key, or no captures: no object.
	m = decodeDoc(t, appendDocument(nil, l, ts, "", "", caps))
	wantNoField(t, m, "grok")
	m = decodeDoc(t, appendDocument(nil, l, ts, "", "grok", nil))
	wantNoField(t, m, "grok")
}

func TestAppendDocumentAppendsToDst(t *testing.T) {
	prefix := []byte(`{"index":{}}` + "\n")
	out := appendDocument(append([]byte(nil), prefix...), testLine(), time.Unix(1, 0), "h", "", nil)
	if !bytes.HasPrefix(out, prefix) {
		t.Fatalf("prefix overwritten: %q", out)
	}
	decodeDoc(t, out[len(prefix):])
}

func TestAppendDocumentEscaping(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"quotes and backslashes", `say "hi" \o/ C:\path`, `say "hi" \o/ C:\path`},
		{"multi-line", "panic: boom\n\tgoroutine 1 [running]:\n\tmain.main()\r\n", "panic: boom\n\tgoroutine 1 [running]:\n\tmain.main()\r\n"},
		{"control characters", "a\x00b\x01c\x1b[31mred\x1b[0m\x1f\x7f", "a\x00b\x01c\x1b[31mred\x1b[0m\x1f\x7f"},
		{"html characters", `<script>&</script>`, `<script>&</script>`},
		{"valid multibyte", "héllo 世界 😀 \u2028\u2029", "héllo 世界 😀 \u2028\u2029"},
		{"invalid byte", "bad \xff byte", "bad \ufffd byte"},
		{"latin-1", "caf\xe9", "caf\ufffd"},
		{"truncated sequence", "euro \xe2\x82", "euro \ufffd\ufffd"},
		{"truncated sequence at start", "\xe2\x82\xacok\xf0\x9f", "€ok\ufffd\ufffd"},
		{"surrogate half", "\xed\xa0\x80", "\ufffd\ufffd\ufffd"},
		{"overlong", "\xc0\xaf", "\ufffd\ufffd"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := testLine()
			l.Text = []byte(tc.in)
			l.Source = tc.in // the path goes through the same escaping
			m := decodeDoc(t, appendDocument(nil, l, time.Unix(0, 0), tc.in, "caps", []Capture{{tc.in, tc.in}}))
			wantField(t, m, "message", tc.want)
			wantField(t, m, "log.file.path", tc.want)
			if tc.in != "" {
				wantField(t, m, "host.name", tc.want)
			}
			caps, _ := m["caps"].(map[string]any)
			if v, ok := caps[tc.want]; !ok || v != tc.want {
				t.Errorf("captures = %v, want {%q: %q}", caps, tc.want, tc.want)
			}
			// encoding/json agrees on every byte.
			std, _ := json.Marshal(tc.in)
			var viaStd string
			if err := json.Unmarshal(std, &viaStd); err != nil || viaStd != tc.want {
				t.Errorf("encoding/json gives %q, test expects %q", viaStd, tc.want)
			}
		})
	}
}

func TestAppendJSONStringOutput(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abc", `"abc"`},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{"a\nb\rc\td", `"a\nb\rc\td"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"\xff", "\"\ufffd\""},
		{"é", `"é"`},
	} {
		got := string(appendJSONString(nil, []byte(tc.in)))
		if got != tc.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("appendJSONString(%q) is not valid UTF-8", tc.in)
		}
	}
}

// FuzzAppendJSONString: any bytes give a JSON string that decodes to the
// input with invalid UTF-8 replaced, as encoding/json would.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\\n", "\xff\xfe", "€\xe2\x82", "\x00\x7f\u2028"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out := appendJSONString(nil, b)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", b, out, err)
		}
		std, _ := json.Marshal(string(b))
		var want string
		_ = json.Unmarshal(std, &want)
		if got != want {
			t.Fatalf("appendJSONString(%q) decodes to %q, encoding/json to %q", b, got, want)
		}
	})
}

func TestDocID(t *testing.T) {
	l := testLine()
	id := docID(l)
	if len(id) != 20 {
		t.Fatalf("docID = %q (%d chars), want 20", id, len(id))
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			t.Fatalf("docID %q has %q, not URL-safe base64", id, c)
		}
	}
	// Stable: same file and offset, whatever the text, path, time or metadata.
	same := *l
	same.Text = []byte("other text")
	same.Source = "/var/log/pods/renamed.log.1"
	same.Input = "other"
	same.Stream = "stderr"
	same.Kube = &logline.Kube{Namespace: "x"}
	if got := docID(&same); got != id {
		t.Errorf("docID changed with text/path/metadata: %q != %q", got, id)
	}
	if got := docID(testLine()); got != id {
		t.Errorf("docID not stable: %q != %q", got, id)
	}

	seen := map[string]string{id: "base"}
	add := func(what string, m func(*logline.Line)) {
		t.Helper()
		v := *l
		m(&v)
		got := docID(&v)
		if prev, dup := seen[got]; dup {
			t.Errorf("docID for %s equals the one for %s: %q", what, prev, got)
		}
		seen[got] = what
	}
	add("offset+1", func(v *logline.Line) { v.Offset++ })
	add("offset 0", func(v *logline.Line) { v.Offset = 0 })
	add("other head", func(v *logline.Line) { v.File.Head++ })
	add("other inode", func(v *logline.Line) { v.File.Ino++ })
	add("other device", func(v *logline.Line) { v.File.Dev++ })
	// Fields must not be confusable with each other.
	add("dev/ino swapped", func(v *logline.Line) { v.File.Dev, v.File.Ino = v.File.Ino, v.File.Dev })
	add("big offset", func(v *logline.Line) { v.Offset = 1 << 40 })
	for off := int64(0); off < 10000; off++ {
		v := *l
		v.Offset = off + 1<<50
		got := docID(&v)
		if prev, dup := seen[got]; dup {
			t.Fatalf("docID collision at offset %d with %s", v.Offset, prev)
		}
		seen[got] = "loop"
	}
}

func benchDocLine() *logline.Line {
	l := testLine()
	l.Text = []byte(`10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /api/v1/items?id=42 HTTP/1.1" 200 512 "-" "curl/8.0"`)
	return l
}

func BenchmarkAppendDocument(b *testing.B) {
	l := benchDocLine()
	ts := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(l.Text)))
	for b.Loop() {
		buf = appendDocument(buf[:0], l, ts, "node-1", "", nil)
	}
}

func BenchmarkAppendDocumentKube(b *testing.B) {
	l := benchDocLine()
	l.Kube = &logline.Kube{Namespace: "shop", Pod: "web-0", PodUID: "uid", Container: "nginx", Node: "node-1",
		Labels: map[string]string{"app": "web", "tier": "front", "pod-template-hash": "abc123"}}
	ts := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(l.Text)))
	for b.Loop() {
		buf = appendDocument(buf[:0], l, ts, "node-1", "", nil)
	}
}

func BenchmarkDocID(b *testing.B) {
	l := benchDocLine()
	b.ReportAllocs()
	for b.Loop() {
		l.Offset++
		_ = docID(l)
	}
}

func TestAppendDocumentNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	l := benchDocLine()
	ts := time.Date(2024, 5, 1, 12, 0, 0, 1, time.UTC)
	buf := make([]byte, 0, 4096)
	caps := []Capture{{"status", "200"}}
	if n := testing.AllocsPerRun(100, func() {
		buf = appendDocument(buf[:0], l, ts, "node-1", "grok", caps)
	}); n != 0 {
		t.Errorf("appendDocument without Kubernetes metadata: %v allocs per document, want 0", n)
	}
}

// TestAppendEmbedded: the JSON object goes under the nested keys; anything
// else (not an object, invalid JSON or UTF-8) leaves the document as it was.
func TestAppendEmbedded(t *testing.T) {
	doc := []byte(`{"message":"x"}`)
	cases := []struct {
		path []string
		text string
		want string
	}{
		{[]string{"kubernetes", "event"}, ` {"a":1} `, `{"message":"x","kubernetes":{"event":{"a":1}}}`},
		{[]string{"e"}, `{"a":[1,2]}`, `{"message":"x","e":{"a":[1,2]}}`},
		{[]string{"e"}, `[1]`, `{"message":"x"}`},
		{[]string{"e"}, `{"a":`, `{"message":"x"}`},
		{[]string{"e"}, "{\"a\":\"\xff\"}", `{"message":"x"}`},
		{[]string{"e"}, ``, `{"message":"x"}`},
	}
	for _, c := range cases {
		got := string(appendEmbedded(append([]byte(nil), doc...), c.path, []byte(c.text)))
		if got != c.want {
			t.Errorf("embed %q under %v = %s, want %s", c.text, c.path, got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("embed %q: invalid JSON %s", c.text, got)
		}
	}
}
