// Command genlog writes synthetic, deterministic log files for logmeter's
// examples and benchmarks: nginx and Apache access logs, klog lines of
// Kubernetes components and Go/Java application logs, either plain or wrapped
// the way container runtimes store them (CRI or docker json-file).
//
// The same flags and seed always produce the same bytes. A fraction of the
// lines (-bad) is deliberately written to be no ordinary log entry:
// error-log lines, truncated lines, stack traces and the like, which the
// shipped rules must not match, and, in access logs, responses to request
// lines the server could not parse ("-", TLS handshakes, blanks in the
// target), which the shipped rules count with method "-".
//
//	go run ./bench/genlog -kind nginx -variant timed -n 1000000 -bad 0.05 -o access.log
//	go run ./bench/genlog -kind nginx -format cri -partial 0.02 -o web.log
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// Every generated timestamp counts from here, so output never depends on the
// clock of the machine that runs the generator.
var epoch = time.Date(2024, time.May, 1, 12, 0, 0, 0, time.UTC)

type options struct {
	kind    string
	variant string
	format  string
	n       int
	seed    uint64
	bad     float64
	partial float64
}

// gen produces the text of one log line per call; stream is "stdout" or
// "stderr" and only matters for the CRI and docker wrappers.
type gen struct {
	opt  options
	rng  *rand.Rand // content
	wrng *rand.Rand // partial splits only, so plain and wrapped files carry the same lines
	now  time.Time
	// queue holds lines already decided (multi-line traces, start-up
	// banners) that must come out before a new line is generated.
	queue []outLine
}

type outLine struct {
	text   string
	stream string
}

func main() {
	var opt options
	var out string
	flag.StringVar(&opt.kind, "kind", "nginx", "log kind: nginx, apache, klog, app-zap, app-zap-console, app-slog, app-logrus, app-logback, app-logback-console, app-log4j, app-ecs")
	flag.StringVar(&opt.variant, "variant", "combined", "nginx only: combined, timed (request_time and upstream_response_time appended) or reload (combined, then timed after a reload)")
	flag.StringVar(&opt.format, "format", "plain", "file format: plain, cri or docker")
	flag.IntVar(&opt.n, "n", 1000, "number of logical log lines to write")
	flag.Uint64Var(&opt.seed, "seed", 1, "random seed")
	flag.Float64Var(&opt.bad, "bad", 0.03, "fraction of lines that are no ordinary entry (see the package comment)")
	flag.Float64Var(&opt.partial, "partial", 0.02, "cri/docker: fraction of lines split into partial records")
	flag.StringVar(&out, "o", "-", "output file, - for stdout")
	flag.Parse()

	if err := run(opt, out); err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
}

func run(opt options, out string) error {
	switch opt.format {
	case "plain", "cri", "docker":
	default:
		return fmt.Errorf("unknown format %q", opt.format)
	}
	g := &gen{
		opt:  opt,
		rng:  rand.New(rand.NewPCG(opt.seed, 0x6c6f676d65746572)),
		wrng: rand.New(rand.NewPCG(opt.seed, 0x7772617070657273)),
		now:  epoch,
	}
	next, err := g.lineFunc()
	if err != nil {
		return err
	}

	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	for i := 0; i < opt.n; i++ {
		if len(g.queue) == 0 {
			next(i)
		}
		l := g.queue[0]
		g.queue = g.queue[1:]
		if err := g.write(bw, l); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func (g *gen) lineFunc() (func(int), error) {
	switch g.opt.kind {
	case "nginx":
		switch g.opt.variant {
		case "combined", "timed", "reload":
		default:
			return nil, fmt.Errorf("unknown nginx variant %q", g.opt.variant)
		}
		return g.nginx, nil
	case "apache":
		return g.apache, nil
	case "klog":
		return g.klog, nil
	case "app-zap", "app-zap-console", "app-slog", "app-logrus", "app-logback", "app-logback-console", "app-log4j", "app-ecs":
		return g.app, nil
	}
	return nil, fmt.Errorf("unknown kind %q", g.opt.kind)
}

func (g *gen) emit(stream string, lines ...string) {
	for _, l := range lines {
		g.queue = append(g.queue, outLine{l, stream})
	}
}

// tick advances the clock by an exponentially distributed gap.
func (g *gen) tick(meanMillis float64) time.Time {
	g.now = g.now.Add(time.Duration(g.rng.ExpFloat64() * meanMillis * float64(time.Millisecond)))
	return g.now
}

func (g *gen) isBad() bool { return g.rng.Float64() < g.opt.bad }

// write wraps one logical line in the chosen file format, sometimes split
// into partial records the way runtimes split long lines.
func (g *gen) write(w *bufio.Writer, l outLine) error {
	if g.opt.format == "plain" {
		_, err := w.WriteString(l.text + "\n")
		return err
	}
	parts := []string{l.text}
	if len(l.text) > 20 && g.wrng.Float64() < g.opt.partial {
		parts = split(l.text, 2+g.wrng.IntN(2), g.wrng)
	}
	t := g.now
	for i, p := range parts {
		last := i == len(parts)-1
		ts := t.Add(time.Duration(i*7919) * time.Nanosecond).Format(time.RFC3339Nano)
		var err error
		if g.opt.format == "cri" {
			tag := "P"
			if last {
				tag = "F"
			}
			_, err = fmt.Fprintf(w, "%s %s %s %s\n", ts, l.stream, tag, p)
		} else {
			if last {
				p += "\n"
			}
			rec := struct {
				Log    string `json:"log"`
				Stream string `json:"stream"`
				Time   string `json:"time"`
			}{p, l.stream, ts}
			var b []byte
			b, err = json.Marshal(rec)
			if err == nil {
				b = append(b, '\n')
				_, err = w.Write(b)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// split cuts s into n non-empty pieces at random points.
func split(s string, n int, rng *rand.Rand) []string {
	var parts []string
	for len(parts) < n-1 && len(s) > 2 {
		cut := 1 + rng.IntN(len(s)-1)
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	return append(parts, s)
}

// weighted picks one of items; weights need not sum to one.
func weighted[T any](rng *rand.Rand, items []T, weights []float64) T {
	var total float64
	for _, w := range weights {
		total += w
	}
	x := rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return items[i]
		}
		x -= w
	}
	return items[len(items)-1]
}

func pick[T any](rng *rand.Rand, items []T) T { return items[rng.IntN(len(items))] }

// ---- HTTP access logs ------------------------------------------------------

var clients = func() []string {
	var c []string
	for _, net := range []string{"192.0.2.", "198.51.100.", "203.0.113."} {
		for _, host := range []int{4, 7, 12, 19, 23, 31, 42, 56, 77, 88, 101, 114, 139, 160, 178, 201, 222, 245} {
			c = append(c, fmt.Sprintf("%s%d", net, host))
		}
	}
	return append(c, "2001:db8::1f", "2001:db8:4:2::a3", "2001:db8:85a3::8a2e:370:7334", "2001:db8:cafe::17")
}()

var agents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
	"curl/8.5.0",
	"kube-probe/1.29",
	"Prometheus/2.51.2",
	"python-requests/2.31.0",
	"Go-http-client/1.1",
}
var agentWeights = []float64{30, 12, 8, 14, 9, 5, 3, 2, 3, 6, 2, 3, 3}

var referrers = []string{"-", "https://shop.example.com/", "https://shop.example.com/cart", "https://shop.example.com/products/4711", "https://www.google.com/", "https://duckduckgo.com/"}
var referrerWeights = []float64{50, 15, 8, 10, 12, 5}

type request struct {
	method, path, proto string
	status              int
	bytes               int
	static              bool
}

func (g *gen) request() request {
	r := g.rng
	method := weighted(r, []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"}, []float64{80, 11, 3, 2, 1.5, 1.5, 1})
	static := method == "GET" && r.Float64() < 0.45
	var path string
	switch {
	case static:
		path = pick(r, []string{"/static/css/main.3f9a1c.css", "/static/js/app.8be21d.js", "/static/js/vendor.51c0aa.js", "/static/img/logo.svg", "/favicon.ico", "/robots.txt", fmt.Sprintf("/static/img/products/%d.webp", 1000+r.IntN(400))})
	case method == "GET" || method == "HEAD":
		path = pick(r, []string{"/", "/healthz", "/cart", "/search?q=shoes&page=2", "/metrics",
			fmt.Sprintf("/products/%d", 1000+r.IntN(400)), fmt.Sprintf("/api/v1/products/%d", 1000+r.IntN(400)),
			fmt.Sprintf("/api/v1/products?category=%s&limit=24", pick(r, []string{"shoes", "bags", "hats", "coats"})),
			fmt.Sprintf("/api/v1/orders/%d", 50000+r.IntN(9000))})
	case method == "OPTIONS":
		path = pick(r, []string{"/api/v1/cart", "/api/v1/orders", "*"})
	default:
		path = pick(r, []string{"/api/v1/cart", "/api/v1/orders", "/api/v1/session", fmt.Sprintf("/api/v1/cart/items/%d", 1000+r.IntN(400))})
	}
	proto := weighted(r, []string{"1.1", "2.0", "1.0"}, []float64{60, 38, 2})

	var status int
	switch method {
	case "GET":
		status = weighted(r, []int{200, 304, 404, 301, 302, 499, 500, 502, 503, 504}, []float64{78, 8, 6, 1.5, 2, 1, 1.2, 1, 0.5, 0.8})
	case "POST":
		status = weighted(r, []int{200, 201, 400, 401, 403, 422, 429, 500, 502, 504}, []float64{55, 25, 5, 4, 1, 4, 2, 2, 1, 1})
	case "HEAD":
		status = weighted(r, []int{200, 404}, []float64{95, 5})
	case "OPTIONS":
		status = 204
	default:
		status = weighted(r, []int{200, 204, 400, 404, 409, 500}, []float64{55, 30, 5, 5, 3, 2})
	}

	bytes := 0
	switch {
	case method == "HEAD" || status == 204 || status == 304 || status == 499:
	case status == 200 && static:
		bytes = 800 + r.IntN(240000)
	case status == 200 || status == 201:
		bytes = 120 + r.IntN(18000)
	case status == 301 || status == 302:
		bytes = 169
	case status == 404:
		bytes = 153
	case status >= 500:
		bytes = weighted(r, []int{157, 177, 183}, []float64{1, 1, 1})
	default:
		bytes = 40 + r.IntN(300)
	}
	return request{method, path, proto, status, bytes, static}
}

// requestTime returns nginx's $request_time and $upstream_response_time,
// both with millisecond resolution as nginx prints them.
func (g *gen) requestTime(q request) (string, string) {
	r := g.rng
	if q.static || q.status == 304 {
		return fmt.Sprintf("%.3f", float64(r.IntN(5))/1000), "-"
	}
	// Log-normal around 40ms with a long tail reaching into seconds.
	up := math.Exp(math.Log(0.04) + 1.1*r.NormFloat64())
	switch q.status {
	case 504:
		up = 60
	case 502:
		up = float64(r.IntN(3)) / 1000
	}
	if up > 30 && q.status != 504 {
		up = 30
	}
	total := up + float64(r.IntN(3))/1000
	upstream := fmt.Sprintf("%.3f", up)
	if q.status == 502 && r.Float64() < 0.5 {
		// nginx tried the next upstream: one time per attempt.
		upstream = fmt.Sprintf("%.3f, %.3f", up, up)
		total += up
	}
	return fmt.Sprintf("%.3f", total), upstream
}

func (g *gen) nginx(i int) {
	t := g.tick(40)
	timed := g.opt.variant == "timed" || (g.opt.variant == "reload" && i >= g.opt.n/10)
	if i == 0 {
		// What the official image prints before the first request.
		g.emit("stdout",
			"/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
			"/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
			"/docker-entrypoint.sh: Configuration complete; ready for start up")
		errorLine(g, t, "notice", "1#1: using the \"epoll\" event method")
		errorLine(g, t, "notice", "1#1: start worker processes")
		return
	}
	if g.opt.variant == "reload" && i == g.opt.n/10 {
		errorLine(g, t, "notice", "1#1: signal 1 (SIGHUP) received from 112, reconfiguring")
		errorLine(g, t, "notice", "1#1: reconfiguring")
		return
	}
	q := g.request()
	client := weighted(g.rng, clients, nil2(len(clients)))
	stamp := t.Format("02/Jan/2006:15:04:05 -0700")
	suffix := ""
	if timed {
		rt, ut := g.requestTime(q)
		suffix = " " + rt + " " + ut
	}
	if g.isBad() {
		g.badAccess(t, client, stamp, suffix, q)
		return
	}
	auth := "-"
	if strings.HasPrefix(q.path, "/metrics") {
		auth = "prometheus"
	}
	g.emit("stdout", fmt.Sprintf(`%s - %s [%s] "%s %s HTTP/%s" %d %d "%s" "%s"%s`,
		client, auth, stamp, q.method, q.path, q.proto, q.status, q.bytes,
		weighted(g.rng, referrers, referrerWeights), weighted(g.rng, agents, agentWeights), suffix))
}

func nil2(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 + float64(i%5)
	}
	return w
}

func errorLine(g *gen, t time.Time, level, msg string) {
	g.emit("stderr", t.Format("2006/01/02 15:04:05")+" ["+level+"] "+msg)
}

// badAccess writes a line that is no ordinary access-log entry: nginx
// error-log lines (containers send both logs to the same file) and lines
// cut short, which the rules must not count, and responses to request
// lines nginx could not parse, which the rules count with method "-".
func (g *gen) badAccess(t time.Time, client, stamp, suffix string, q request) {
	r := g.rng
	conn := 1000 + r.IntN(90000)
	switch r.IntN(6) {
	case 0:
		errorLine(g, t, "error", fmt.Sprintf(`29#29: *%d open() "/usr/share/nginx/html%s" failed (2: No such file or directory), client: %s, server: shop.example.com, request: "GET %s HTTP/1.1", host: "shop.example.com"`,
			conn, pick(r, []string{"/wp-login.php", "/.env", "/favicon.ico", "/apple-touch-icon.png"}), client, pick(r, []string{"/wp-login.php", "/.env"})))
	case 1:
		errorLine(g, t, "warn", fmt.Sprintf(`29#29: *%d an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/%d/00/00000%05d while reading upstream, client: %s, server: shop.example.com, request: "GET /api/v1/products?category=coats&limit=24 HTTP/2.0", upstream: "http://10.0.3.17:8080/api/v1/products?category=coats&limit=24", host: "shop.example.com"`,
			conn, r.IntN(10), r.IntN(99999), client))
	case 2:
		// A TLS handshake sent to the plain-text port.
		g.emit("stdout", fmt.Sprintf(`%s - - [%s] "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03\x8A%02X\x1D" 400 157 "-" "-"%s`, client, stamp, r.IntN(256), suffix))
	case 3:
		// No request at all: the client closed the connection (400) or
		// sent nothing before client_header_timeout (408).
		status := 400
		if conn%2 == 1 {
			status = 408
		}
		g.emit("stdout", fmt.Sprintf(`%s - - [%s] "-" %d 0 "-" "-"%s`, client, stamp, status, suffix))
	case 4:
		if conn%3 == 0 {
			// A target with an unescaped blank in it.
			g.emit("stdout", fmt.Sprintf(`%s - - [%s] "GET /static/img/summer sale.webp HTTP/1.1" 400 157 "-" "-"%s`, client, stamp, suffix))
			break
		}
		// HTTP/0.9-style request line without a version.
		g.emit("stdout", fmt.Sprintf(`%s - - [%s] "GET /" 400 157 "-" "-"%s`, client, stamp, suffix))
	default:
		// A line cut short inside the request (disk full, crash).
		full := fmt.Sprintf(`%s - - [%s] "%s %s HTTP/%s`, client, stamp, q.method, q.path, q.proto)
		g.emit("stdout", full[:len(full)-1-r.IntN(8)])
	}
}

func (g *gen) apache(i int) {
	t := g.tick(60)
	r := g.rng
	stamp := t.Format("02/Jan/2006:15:04:05 -0700")
	if g.isBad() {
		switch r.IntN(4) {
		case 0:
			g.emit("stdout", fmt.Sprintf("[%s] [core:error] [pid %d:tid %d] [client %s:%d] AH00126: Invalid URI in request GET /%%%%ad HTTP/1.1",
				t.Format("Mon Jan 02 15:04:05.000000 2006"), 1200+r.IntN(40), 140230000000000+r.IntN(1e9), pick(r, clients[:54]), 30000+r.IntN(30000)))
		case 1:
			g.emit("stdout", fmt.Sprintf("[%s] [mpm_event:notice] [pid 1:tid %d] AH00489: Apache/2.4.58 (Unix) configured -- resuming normal operations",
				t.Format("Mon Jan 02 15:04:05.000000 2006"), 140230000000000+r.IntN(1e9)))
		case 2:
			// Requests httpd could not parse, which the rules count with
			// method "-": a TLS handshake on the plain-text port, or a
			// connection that sent nothing before the timeout.
			if t.Second()%2 == 1 {
				g.emit("stdout", fmt.Sprintf(`%s - - [%s] "-" 408 - "-" "-"`, pick(r, clients), stamp))
				break
			}
			g.emit("stdout", fmt.Sprintf(`%s - - [%s] "\x16\x03\x01" 400 226 "-" "-"`, pick(r, clients), stamp))
		default:
			g.emit("stdout", fmt.Sprintf(`%s - - [%s] "GET /index.html HT`, pick(r, clients), stamp))
		}
		return
	}
	if r.Float64() < 0.03 {
		// Apache pings its own children; %b is "-" as no body was sent.
		g.emit("stdout", fmt.Sprintf(`::1 - - [%s] "OPTIONS * HTTP/1.0" 200 - "-" "Apache/2.4.58 (Unix) (internal dummy connection)"`, stamp))
		return
	}
	q := g.request()
	if q.status == 499 {
		q.status, q.bytes = 408, 0 // 499 is nginx's own code
	}
	bytes := fmt.Sprint(q.bytes)
	if q.bytes == 0 {
		bytes = "-" // Apache's %b prints "-" for an empty body.
	}
	user := "-"
	if strings.HasPrefix(q.path, "/api/v1/orders") && r.Float64() < 0.3 {
		user = pick(r, []string{"alice", "bob", "carol.ops"})
	}
	proto := q.proto
	if proto == "2.0" {
		proto = "2" // mod_http2 logs "HTTP/2"
	}
	g.emit("stdout", fmt.Sprintf(`%s - %s [%s] "%s %s HTTP/%s" %d %s "%s" "%s"`,
		pick(r, clients), user, stamp, q.method, q.path, proto, q.status, bytes,
		weighted(r, referrers, referrerWeights), weighted(r, agents, agentWeights)))
}

// ---- Kubernetes components (klog) -----------------------------------------

type klogMsg struct {
	sev  byte
	file string
	msgs []string
}

var klogMsgs = []klogMsg{
	{'I', "kubelet.go", []string{`"SyncLoop ADD" source="api" pods=["shop/web-7d4b9c6f5-%s"]`, `"SyncLoop UPDATE" source="api" pods=["shop/cart-5c8f7b9d4-%s"]`, `"SyncLoop DELETE" source="api" pods=["batch/report-28573920-%s"]`}},
	{'I', "kubelet_pods.go", []string{`"Cleaned up orphaned pod volumes dir" podUID="5d1c3a8e-%s" path="/var/lib/kubelet/pods/5d1c3a8e/volumes"`}},
	{'I', "generic.go", []string{`"Generic (PLEG): container finished" podID="9f1d7c2b-%s" containerID="a41f" exitCode=0`}},
	{'I', "kuberuntime_manager.go", []string{`"No sandbox for pod can be found. Need to start a new one" pod="shop/web-7d4b9c6f5-%s"`}},
	{'I', "reconciler_common.go", []string{`"operationExecutor.MountVolume started for volume \"kube-api-access-%s\"" pod="shop/web-7d4b9c6f5-x2x9k"`}},
	{'I', "operation_generator.go", []string{`"MountVolume.SetUp succeeded for volume \"config-%s\"" pod="shop/cart-5c8f7b9d4-q8w2m"`}},
	{'I', "pod_startup_latency_tracker.go", []string{`"Observed pod startup duration" pod="shop/web-7d4b9c6f5-%s" podStartSLOduration=3.2`}},
	{'I', "reflector.go", []string{`Watch close - *v1.ConfigMap total %s items received`}},
	{'W', "prober.go", []string{`"Readiness probe failed" probeType="Readiness" pod="shop/cart-5c8f7b9d4-%s" probeResult="failure" output="HTTP probe failed with statuscode: 503"`}},
	{'W', "reflector.go", []string{`object-"shop"/"web-config-%s": watch of *v1.ConfigMap ended with: an error on the server ("unable to decode an event from the watch stream") has prevented the request from succeeding`}},
	{'W', "eviction_manager.go", []string{`"Eviction manager: attempting to reclaim" resourceName="ephemeral-storage" node="worker-%s"`}},
	{'E', "pod_workers.go", []string{`"Error syncing pod, skipping" err="failed to \"StartContainer\" for \"cart\" with CrashLoopBackOff: \"back-off 5m0s restarting failed container=cart pod=cart-5c8f7b9d4-%s_shop\"" pod="shop/cart-5c8f7b9d4-q8w2m"`}},
	{'E', "kuberuntime_manager.go", []string{`"CreatePodSandbox for pod failed" err="rpc error: code = Unknown desc = failed to reserve sandbox name %s" pod="batch/report-28573920-7kq4d"`}},
	{'E', "remote_runtime.go", []string{`"ContainerStatus from runtime service failed" err="rpc error: code = NotFound desc = an error occurred when try to find container \"%s\": not found"`}},
}
var klogWeights = []float64{14, 4, 8, 4, 8, 8, 4, 10, 5, 2, 1, 3, 1, 2}

const suffixChars = "bcdfghjklmnpqrstvwxz2456789"

func (g *gen) suffix(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = suffixChars[g.rng.IntN(len(suffixChars))]
	}
	return string(b)
}

func (g *gen) klogHeader(t time.Time, sev byte, pid int, file string, line int) string {
	return fmt.Sprintf("%c%s %7d %s:%d] ", sev, t.Format("0102 15:04:05.000000"), pid, file, line)
}

func (g *gen) klogStart() {
	g.emit("stderr",
		"Flag --container-runtime-endpoint has been deprecated, set it in the file named by --config.",
		"Flag --pod-infra-container-image has been deprecated, the image garbage collector reads the sandbox image from the CRI runtime.")
}

func (g *gen) klog(i int) {
	t := g.tick(250)
	r := g.rng
	pid := 2731
	if i >= g.opt.n*3/4 {
		pid = 48210 // restarted after the fatal error below
	}
	if i == 0 {
		g.klogStart()
		return
	}
	if i == g.opt.n*3/4-4 {
		g.emit("stderr", g.klogHeader(t, 'F', 2731, "server.go", 298)+`failed to run Kubelet: failed to create kubelet: open /var/lib/kubelet/pki/kubelet.crt: too many open files`,
			"goroutine 1 [running]:",
			"k8s.io/kubernetes/cmd/kubelet/app.Run(...)",
			"\t/workspace/cmd/kubelet/app/server.go:298 +0x1c5")
		g.klogStart()
		return
	}
	if g.isBad() {
		switch r.IntN(3) {
		case 0:
			g.emit("stderr", "")
		case 1:
			// klog writes embedded newlines verbatim: the continuation is a line of its own.
			g.emit("stderr", g.klogHeader(t, 'E', pid, "watcher.go", 93)+`"Failed to read mount info" err=<`,
				"\topen /proc/self/mountinfo: too many open files", " >")
		default:
			g.emit("stderr", fmt.Sprintf("I%s %7d", t.Format("0102 15:04:05.000000"), pid))
		}
		return
	}
	m := weighted(r, klogMsgs, klogWeights)
	line := 100 + int(m.file[0])*13 + len(m.msgs[0])%700
	msg := fmt.Sprintf(pick(r, m.msgs), g.suffix(5))
	g.emit("stderr", g.klogHeader(t, m.sev, pid, m.file, line)+msg)
}

// ---- Go and Java application logs -----------------------------------------

type appEvent struct {
	level  string // canonical: debug, info, warn, error, fatal, panic
	logger string
	msg    string
	kv     [][2]string
}

func (g *gen) appEvent() appEvent {
	r := g.rng
	level := weighted(r, []string{"debug", "info", "warn", "error"}, []float64{12, 70, 11, 7})
	e := appEvent{level: level}
	switch level {
	case "debug":
		e.logger, e.msg = "cache", "cache lookup"
		e.kv = [][2]string{{"key", fmt.Sprintf("product:%d", 1000+r.IntN(400))}, {"hit", pick(r, []string{"true", "false"})}}
	case "info":
		e.logger, e.msg = "http", "request served"
		e.kv = [][2]string{{"method", pick(r, []string{"GET", "GET", "POST"})}, {"path", pick(r, []string{"/api/v1/orders", "/api/v1/cart", "/healthz"})},
			{"status", pick(r, []string{"200", "200", "201", "404"})}, {"duration", fmt.Sprintf("%.3f", 0.001+r.ExpFloat64()*0.03)}}
	case "warn":
		e.logger, e.msg = "payments", "slow upstream response"
		e.kv = [][2]string{{"upstream", "payments.shop.svc:8443"}, {"duration", fmt.Sprintf("%.3f", 1+r.ExpFloat64())}}
	case "error":
		e.logger, e.msg = "orders", "failed to reserve stock"
		e.kv = [][2]string{{"order", fmt.Sprint(50000 + r.IntN(9000))}, {"error", "context deadline exceeded"}}
	}
	return e
}

func (g *gen) app(i int) {
	t := g.tick(120)
	r := g.rng
	kind := g.opt.kind
	java := kind == "app-logback" || kind == "app-log4j" || kind == "app-logback-console" || kind == "app-ecs"
	if i == 0 {
		switch {
		case java:
			g.emit("stdout", "", `  .   ____          _            __ _ _`, `  :: Spring Boot ::                (v3.2.5)`, "")
		case kind == "app-zap":
			// The logger's own configuration, logged as a nested object
			// whose "level" is not the level of the line.
			g.emit("stderr", "listening on :8080",
				fmt.Sprintf(`{"level":"info","ts":%.7f,"caller":"main.go:31","msg":"logger configured","config":{"level":"debug","encoding":"json","sampling":{"initial":100,"thereafter":100}}}`, float64(t.UnixNano())/1e9))
		default:
			g.emit("stderr", "listening on :8080")
		}
		return
	}
	if g.isBad() {
		switch {
		case java:
			g.emit("stdout", "java.net.SocketTimeoutException: Read timed out",
				"\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)",
				"\tat com.example.shop.payments.PaymentClient.charge(PaymentClient.java:87)",
				"\t... 42 common frames omitted")
		default:
			g.emit("stderr", "panic: runtime error: invalid memory address or nil pointer dereference",
				"[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x6f3a21]", "",
				"goroutine 187 [running]:", "github.com/example/shop/orders.(*Store).Reserve(0x0, {0x9a8e40, 0xc000412000})",
				"\t/src/orders/store.go:142 +0x21")
		}
		return
	}
	e := g.appEvent()
	// Rare levels that the rules must fold into the canonical names.
	if x := r.Float64(); x < 0.006 {
		e.level = "fatal"
	} else if x < 0.01 && (kind == "app-zap" || kind == "app-zap-console" || kind == "app-logrus") {
		e.level = "panic"
	}
	switch kind {
	case "app-zap":
		level := e.level
		if level == "panic" && r.IntN(2) == 0 {
			level = "dpanic"
		}
		var b strings.Builder
		fmt.Fprintf(&b, `{"level":"%s","ts":%.7f,"logger":"%s","caller":"%s/%s.go:%d","msg":"%s"`,
			level, float64(t.UnixNano())/1e9, e.logger, e.logger, e.logger, 40+len(e.msg)*3, e.msg)
		for _, kv := range e.kv {
			if _, err := strconv.ParseFloat(kv[1], 64); err == nil || kv[1] == "true" || kv[1] == "false" {
				fmt.Fprintf(&b, `,"%s":%s`, kv[0], kv[1])
			} else {
				fmt.Fprintf(&b, `,"%s":"%s"`, kv[0], kv[1])
			}
		}
		if level != "info" && level != "debug" {
			b.WriteString(`,"stacktrace":"main.main\n\t/src/main.go:57\nruntime.main\n\t/usr/local/go/src/runtime/proc.go:271"`)
		}
		b.WriteString("}")
		g.emit("stderr", b.String())
	case "app-zap-console":
		// zap's development logger (console encoder), as controller-runtime
		// and many operators use it: tab-separated time, level, logger,
		// caller and message, then the fields as JSON; a stack trace follows
		// errors and worse.
		level := strings.ToUpper(e.level)
		if level == "PANIC" && r.IntN(2) == 0 {
			level = "DPANIC"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s/%s.go:%d\t%s\t{", t.Format("2006-01-02T15:04:05.000Z0700"), level, e.logger, e.logger, e.logger, 40+len(e.msg)*3, e.msg)
		for j, kv := range e.kv {
			if j > 0 {
				b.WriteString(", ")
			}
			if _, err := strconv.ParseFloat(kv[1], 64); err == nil || kv[1] == "true" || kv[1] == "false" {
				fmt.Fprintf(&b, `"%s": %s`, kv[0], kv[1])
			} else {
				fmt.Fprintf(&b, `"%s": "%s"`, kv[0], kv[1])
			}
		}
		b.WriteString("}")
		g.emit("stderr", b.String())
		if level != "INFO" && level != "DEBUG" && level != "WARN" {
			g.emit("stderr", fmt.Sprintf("github.com/example/shop/%s.(*Service).Handle", e.logger),
				fmt.Sprintf("\t/src/%s/service.go:%d", e.logger, 100+len(e.msg)),
				"main.main", "\t/src/main.go:57")
		}
	case "app-ecs":
		// Spring Boot's structured logging in the ECS format.
		level := strings.ToUpper(e.level)
		if level == "FATAL" {
			level = "ERROR" // logback has no FATAL
		}
		var kv strings.Builder
		for _, p := range e.kv {
			fmt.Fprintf(&kv, " %s=%s", p[0], p[1])
		}
		thread := pick(r, []string{"main", "http-nio-8080-exec-1", "http-nio-8080-exec-7", "scheduling-1", "pool-2-thread-3"})
		logger := "com.example.shop." + e.logger + "." + strings.ToUpper(e.logger[:1]) + e.logger[1:] + "Service"
		msg, _ := json.Marshal(e.msg + kv.String())
		g.emit("stdout", fmt.Sprintf(`{"@timestamp":"%s","log.level":"%s","process.pid":1,"process.thread.name":"%s","service.name":"shop","log.logger":"%s","message":%s,"ecs.version":"8.11"}`,
			t.Format("2006-01-02T15:04:05.000000000Z"), level, thread, logger, msg))
	case "app-slog":
		level := strings.ToUpper(e.level)
		switch e.level {
		case "fatal", "panic":
			level = "ERROR+4" // slog has no fatal; custom levels print as offsets
		}
		var b strings.Builder
		fmt.Fprintf(&b, "time=%s level=%s msg=%q", t.Format("2006-01-02T15:04:05.000Z07:00"), level, e.msg)
		for _, kv := range e.kv {
			fmt.Fprintf(&b, " %s=%s", kv[0], logfmtValue(kv[1]))
		}
		g.emit("stderr", b.String())
	case "app-logrus":
		level := e.level
		if level == "warn" {
			level = "warning" // logrus spells it out
		}
		var b strings.Builder
		fmt.Fprintf(&b, "time=%q level=%s msg=%q component=%s", t.Format(time.RFC3339), level, e.msg, e.logger)
		for _, kv := range e.kv {
			fmt.Fprintf(&b, " %s=%s", kv[0], logfmtValue(kv[1]))
		}
		g.emit("stderr", b.String())
	case "app-logback", "app-log4j", "app-logback-console":
		level := strings.ToUpper(e.level)
		if level == "FATAL" && kind != "app-log4j" {
			level = "ERROR" // logback has no FATAL
		}
		var b strings.Builder
		for _, kv := range e.kv {
			fmt.Fprintf(&b, " %s=%s", kv[0], kv[1])
		}
		thread := pick(r, []string{"main", "http-nio-8080-exec-1", "http-nio-8080-exec-7", "scheduling-1", "pool-2-thread-3"})
		logger := "com.example.shop." + e.logger + "." + strings.ToUpper(e.logger[:1]) + e.logger[1:] + "Service"
		switch kind {
		case "app-logback-console":
			// The default console pattern of logback and log4j 2: the time
			// without the date, the logger abbreviated to 36 characters.
			if thread == "pool-2-thread-3" {
				thread = "RMI TCP Connection(2)-127.0.0.1"
			}
			g.emit("stdout", fmt.Sprintf("%s [%s] %-5s %s - %s%s", t.Format("15:04:05.000"), thread, level, "c.e.s."+e.logger+"."+logger[strings.LastIndexByte(logger, '.')+1:], e.msg, b.String()))
		case "app-logback":
			g.emit("stdout", fmt.Sprintf("%s [%s] %-5s %s - %s%s", t.Format("2006-01-02 15:04:05.000"), thread, level, logger, e.msg, b.String()))
		default:
			g.emit("stdout", fmt.Sprintf("%s %-5s [%s] %s - %s%s", t.Format("2006-01-02 15:04:05,000"), level, thread, logger, e.msg, b.String()))
		}
		if e.level == "error" && r.IntN(3) == 0 {
			g.emit("stdout", "java.util.concurrent.TimeoutException: stock service did not answer within 2000 ms",
				"\tat com.example.shop.orders.StockClient.reserve(StockClient.java:64)",
				"\tat com.example.shop.orders.OrdersService.place(OrdersService.java:118)")
		}
	}
}

func logfmtValue(v string) string {
	if strings.ContainsAny(v, " =\"") {
		return fmt.Sprintf("%q", v)
	}
	return v
}
