// Command loadgen drives bench/load.sh: it lays out many container log files
// the way kubelet names them and appends lines to all of them round-robin,
// either as fast as it can or at a fixed rate, so that logmeter follows a
// node's worth of growing files at once.
//
//	loadgen files -dir D/containers -files 1000 -mix apps -series high
//	loadgen write -dir D/containers -files 1000 -mix apps -series high -lines 1000000
//	loadgen write ... -lines 60000 -rate 1000 -from 1000000
//	loadgen port
//
// Files are named <pod>_<namespace>_<container>-<id>.log, as kubelet names
// container logs (1,000 files: 20 namespaces, 100 pods of each application).
// Each file belongs to one application (-mix apps: nginx, Apache httpd, a Go
// API logging with log/slog, a Go service logging with zap, a Spring Boot
// service, a klog operator, PostgreSQL, Redis, HAProxy and a Celery worker;
// -mix nginx: nginx only), and its lines follow a fixed cycle of 20 to 40
// lines per application (a few values change from one cycle to the next),
// so every label set the rules of bench/load-rules.yaml derive from a file
// has appeared within its first 150 lines and none appears later: the
// series count reaches its steady state early and stays there. About 9% of
// the lines match no rule (stack traces, continuation lines, banners).
//
// Most applications write who they are into their lines: nginx and HAProxy
// serve one tenant per pod (in the request path, as the frontend's name),
// Apache one virtual host, the Go and Java services log their host name and
// PostgreSQL its database. With -series high each file has its own identity,
// which is what multiplies the label sets to about 10,000; with -series low
// all files of an application share one, so the same lines, with the same
// rules, give about 200 label sets: a baseline for the memory series take.
// The metric labels never come from the file names, so the counts do not
// depend on pod metadata.
//
// Lines are written in CRI format (the container runtime's), one write per
// line, or with -batch N, N lines of a file per write. Line g of a run
// (counting from -from) goes to file g mod -files and is the (g div
// -files)-th line of that file, so a run that continues an earlier one with
// -from continues every file's cycle. Random parts (times, sizes, addresses)
// come from -seed; timestamps are the real time.
//
// "loadgen port" prints a free TCP port on 127.0.0.1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "files", "write":
		err = run(os.Args[1], os.Args[2:])
	case "port":
		err = freePort()
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen files|write [flags] | loadgen port")
	os.Exit(2)
}

func freePort() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
	return nil
}

type options struct {
	dir    string
	files  int
	mix    string
	series string // high or low
	lines  int64
	from   int64
	rate   float64
	batch  int
	seed   uint64
}

func run(cmd string, args []string) error {
	var o options
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", "", "directory of the log files (its name should be \"containers\", as kubelet's)")
	fs.IntVar(&o.files, "files", 1000, "number of files")
	fs.StringVar(&o.mix, "mix", "apps", "applications: apps (ten kinds) or nginx (nginx only)")
	fs.StringVar(&o.series, "series", "high", "label cardinality: high (an identity per file: about 10,000 label sets) or low (one per application: about 200)")
	fs.Int64Var(&o.lines, "lines", 100000, "write: lines to append in total")
	fs.Int64Var(&o.from, "from", 0, "write: number of lines written by earlier runs (continues the files' cycles)")
	fs.Float64Var(&o.rate, "rate", 0, "write: lines per second in total; 0 writes as fast as possible")
	fs.IntVar(&o.batch, "batch", 1, "write: lines a file collects before they are written together (one write per line by default)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.dir == "" || o.files <= 0 || o.batch <= 0 {
		return errors.New("-dir, a positive -files and a positive -batch are required")
	}
	if o.mix != "apps" && o.mix != "nginx" {
		return fmt.Errorf("unknown -mix %q", o.mix)
	}
	if o.series != "high" && o.series != "low" {
		return fmt.Errorf("unknown -series %q", o.series)
	}
	fl := layout(o)
	if cmd == "files" {
		if err := os.MkdirAll(o.dir, 0o755); err != nil {
			return err
		}
		for _, f := range fl {
			if err := os.WriteFile(f.path, nil, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	return write(o, fl)
}

// ---- layout ---------------------------------------------------------------

var namespaces = []string{
	"shop", "payments", "search", "checkout", "catalog", "accounts", "billing",
	"shipping", "inventory", "reviews", "ads", "recommendations", "media",
	"auth", "notifications", "reports", "analytics", "support", "partners", "platform",
}

type file struct {
	path string
	app  *app
	id   string // the identity the application writes into its lines
	rng  *rand.Rand
	w    *os.File
	buf  []byte // lines not written yet
	held int    // how many
}

// layout names the files: file i runs application i mod 10 (apps mix) in
// namespace (i/10) mod 20, so every application has 100 pods, five in each
// namespace.
func layout(o options) []*file {
	fl := make([]*file, o.files)
	for i := range fl {
		a, j := apps[i%len(apps)], i/len(apps) // j: the pod's number within its application
		if o.mix == "nginx" {
			a, j = apps[0], i
		}
		ns := namespaces[(i/10)%len(namespaces)]
		pod := fmt.Sprintf("%s-%s-%s", a.name, hexID(ns+a.name, 5), hexID(strconv.Itoa(i), 5))
		name := fmt.Sprintf("%s_%s_%s-%s.log", pod, ns, a.container, hexID("container "+strconv.Itoa(i), 64))
		id := a.lowID
		if o.series == "high" {
			id = pod
			if a.idFormat != "" {
				id = fmt.Sprintf(a.idFormat, j)
			}
		}
		fl[i] = &file{
			path: filepath.Join(o.dir, name),
			app:  a,
			id:   id,
			rng:  rand.New(rand.NewPCG(o.seed, uint64(i))),
		}
	}
	return fl
}

// hexID is a deterministic lower-case hex string of length n.
func hexID(s string, n int) string {
	var out []byte
	for i := 0; len(out) < n; i++ {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s/%d", s, i)
		out = strconv.AppendUint(out, h.Sum64()|1<<63, 16)
	}
	return string(out[:n])
}

// ---- writing --------------------------------------------------------------

func write(o options, fl []*file) error {
	for _, f := range fl {
		w, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		defer w.Close()
		f.w = w
	}
	n := int64(len(fl))
	start := time.Now()
	for g := o.from; g < o.from+o.lines; g++ {
		if o.rate > 0 {
			// Sleep at least 10 ms at a time, so lines go out in small
			// bursts (rate/100 lines to consecutive files) as they fall due.
			done := g - o.from
			due := start.Add(time.Duration(float64(done) / o.rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(max(d, 10*time.Millisecond))
			}
		}
		f := fl[g%n]
		now := time.Now()
		b := now.UTC().AppendFormat(f.buf, time.RFC3339Nano)
		b = append(b, " stdout F "...)
		b = f.app.line(b, int(g/n), f.rng, now, f.id)
		f.buf = append(b, '\n')
		if f.held++; f.held == o.batch {
			if err := f.flush(); err != nil {
				return err
			}
		}
	}
	for _, f := range fl {
		if err := f.flush(); err != nil {
			return err
		}
	}
	return nil
}

func (f *file) flush() error {
	if f.held == 0 {
		return nil
	}
	_, err := f.w.Write(f.buf)
	f.buf, f.held = f.buf[:0], 0
	return err
}

// ---- applications ---------------------------------------------------------

// app is one kind of container; line appends the k-th line of a file's
// cycle (the message only, without the CRI framing), id being the file's
// identity: with -series high idFormat applied to the pod's number within
// its application (the pod's name when idFormat is empty), with -series low
// lowID.
type app struct {
	name, container string
	idFormat, lowID string
	line            func(b []byte, k int, r *rand.Rand, t time.Time, id string) []byte
}

var apps = []*app{
	{"web", "nginx", "tenant%03d", "acme", nginxLine},
	{"portal", "httpd", "site%03d.example.com", "portal.example.com", apacheLine},
	{"api", "api", "", "api-0", slogLine},
	{"orders", "orders", "", "orders-0", zapLine},
	{"catalog", "catalog", "", "catalog-0", logbackLine},
	{"operator", "manager", "", "", klogLine},
	{"db", "postgres", "tenant_%03d", "shop", postgresLine},
	{"cache", "redis", "", "", redisLine},
	{"lb", "haproxy", "fe_tenant%03d", "fe_http", haproxyLine},
	{"worker", "celery", "", "", celeryLine},
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func clientIP(r *rand.Rand) string {
	return fmt.Sprintf("10.%d.%d.%d", 1+r.IntN(3), r.IntN(256), 1+r.IntN(254))
}

// seconds returns a log-normal duration around median seconds, as text with
// three decimals.
func seconds(r *rand.Rand, median float64) string {
	return strconv.FormatFloat(math.Exp(math.Log(median)+0.9*r.NormFloat64()), 'f', 3, 64)
}

var agents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
	"okhttp/4.12.0",
	"kube-probe/1.30",
}

type httpCombo struct {
	method string
	status int
}

// nginx, one tenant per pod (the first element of the path): 12
// method/status pairs, three times each, then an upstream
// time-out and a buffering warning from the error log (containers send
// both logs to one stream), a slow request and a TLS handshake sent to the
// plain-text port, which no rule matches.
var nginxCombos = []httpCombo{
	{"GET", 200}, {"GET", 304}, {"GET", 404}, {"GET", 500}, {"GET", 502}, {"POST", 201},
	{"POST", 200}, {"POST", 400}, {"POST", 503}, {"PUT", 200}, {"DELETE", 204}, {"HEAD", 200},
}

func nginxLine(b []byte, k int, r *rand.Rand, t time.Time, id string) []byte {
	e := k % 40
	stamp := t.Format("02/Jan/2006:15:04:05 -0700")
	switch e {
	case 36:
		return fmt.Appendf(b, `%s [error] 29#29: *%d upstream timed out (110: Connection timed out) while reading response header from upstream, client: %s, server: shop.example.com, request: "GET /t/%s/api/v1/products HTTP/1.1", upstream: "http://10.0.3.%d:8080/api/v1/products", host: "shop.example.com"`,
			t.Format("2006/01/02 15:04:05"), 1000+r.IntN(90000), clientIP(r), id, 17+(k/40)%3)
	case 37:
		return fmt.Appendf(b, `%s [warn] 29#29: *%d an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/%d/00/0000%06d while reading upstream, client: %s, server: shop.example.com, request: "GET /api/v1/products?limit=100 HTTP/1.1", upstream: "http://10.0.3.17:8080/api/v1/products?limit=100", host: "shop.example.com"`,
			t.Format("2006/01/02 15:04:05"), 1000+r.IntN(90000), r.IntN(10), r.IntN(999999), clientIP(r))
	case 38:
		return fmt.Appendf(b, `%s - - [%s] "GET /t/%s/api/v1/reports/export?format=csv HTTP/1.1" 200 %d "-" "%s" %s %s`,
			clientIP(r), stamp, id, 20000+r.IntN(500000), agents[0], seconds(r, 2.5), seconds(r, 2.4))
	case 39:
		return fmt.Appendf(b, `%s - - [%s] "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" 400 157 "-" "-" 0.001 -`, clientIP(r), stamp)
	}
	c := nginxCombos[e%len(nginxCombos)]
	path := pick(r, []string{"/", "/cart", "/api/v1/products", "/api/v1/orders", "/static/js/app.8be21d.js"})
	agent := pick(r, agents)
	if e%12 == 0 {
		path, agent = "/healthz", "kube-probe/1.30"
	}
	bytes := 0
	if c.status != 204 && c.status != 304 && c.method != "HEAD" {
		bytes = 150 + r.IntN(20000)
	}
	up := seconds(r, 0.03)
	if e%5 == 4 {
		up = "-"
	}
	return fmt.Appendf(b, `%s - - [%s] "%s /t/%s%s HTTP/1.1" %d %d "-" "%s" %s %s`,
		clientIP(r), stamp, c.method, id, path, c.status, bytes, agent, seconds(r, 0.03), up)
}

// Apache httpd, one virtual host per pod (the vhost_combined format): 8
// method/status pairs, twice each, three error-log lines and a start-up
// notice.
var apacheCombos = []httpCombo{
	{"GET", 200}, {"GET", 304}, {"GET", 404}, {"POST", 200}, {"POST", 302}, {"GET", 301}, {"GET", 500}, {"HEAD", 200},
}

func apacheLine(b []byte, k int, r *rand.Rand, t time.Time, id string) []byte {
	e := k % 20
	errStamp := t.Format("Mon Jan 02 15:04:05.000000 2006")
	switch e {
	case 16:
		return fmt.Appendf(b, "[%s] [proxy_http:error] [pid %d:tid %d] (70007)The timeout specified has expired: [client %s:%d] AH01102: error reading status line from remote server backend.portal.svc:8080",
			errStamp, 10+r.IntN(40), 140230000000000+r.IntN(1e9), clientIP(r), 30000+r.IntN(30000))
	case 17:
		return fmt.Appendf(b, "[%s] [mpm_event:notice] [pid 1:tid %d] AH00489: Apache/2.4.58 (Unix) configured -- resuming normal operations",
			errStamp, 140230000000000+r.IntN(1e9))
	case 18:
		return fmt.Appendf(b, "[%s] [core:warn] [pid 1:tid %d] AH00098: pid file /usr/local/apache2/logs/httpd.pid overwritten -- Unclean shutdown of previous Apache run?",
			errStamp, 140230000000000+r.IntN(1e9))
	case 19:
		return fmt.Appendf(b, "AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using 10.1.%d.%d. Set the 'ServerName' directive globally to suppress this message",
			r.IntN(256), 1+r.IntN(254))
	}
	c := apacheCombos[e%len(apacheCombos)]
	bytes := strconv.Itoa(100 + r.IntN(30000))
	if c.status == 304 || c.method == "HEAD" {
		bytes = "0"
	}
	return fmt.Appendf(b, `%s:443 %s - - [%s] "%s %s HTTP/1.1" %d %s "https://portal.example.com/" "%s"`,
		id, clientIP(r), t.Format("02/Jan/2006:15:04:05 -0700"), c.method,
		pick(r, []string{"/", "/login", "/account", "/docs/index.html", "/images/logo.png"}), c.status, bytes, pick(r, agents[:4]))
}

// Go API, log/slog text handler with the host name among the logger's
// attributes: 24 route/method/status combinations, then debug, warn and
// error messages, a TLS handshake error from net/http's own logger and a
// start-up line.
var slogRoutes = []struct{ route, method string }{
	{"/api/v1/orders", "POST"}, {"/api/v1/orders/{id}", "GET"}, {"/api/v1/cart", "POST"},
	{"/api/v1/products", "GET"}, {"/api/v1/products/{id}", "GET"}, {"/api/v1/users/{id}", "GET"},
}
var slogStatus = []int{200, 400, 404, 500}
var slogTables = []string{"orders", "carts", "products", "users"}

func slogLine(b []byte, k int, r *rand.Rand, t time.Time, id string) []byte {
	e := k % 40
	stamp := t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	switch {
	case e < 24:
		rt := slogRoutes[e%6]
		return fmt.Appendf(b, `time=%s level=INFO msg="request served" host=%s method=%s route=%s status=%d duration=%s bytes=%d request_id=%s`,
			stamp, id, rt.method, rt.route, slogStatus[e/6], seconds(r, 0.02), 100+r.IntN(9000), hexID(strconv.Itoa(r.Int()), 16))
	case e < 32:
		return fmt.Appendf(b, `time=%s level=DEBUG msg="cache lookup" host=%s key=product:%d hit=%t`, stamp, id, 1000+r.IntN(400), r.IntN(3) > 0)
	case e < 36:
		return fmt.Appendf(b, `time=%s level=WARN msg="slow query" host=%s table=%s duration=%s rows=%d`, stamp, id, slogTables[e-32], seconds(r, 1.2), r.IntN(5000))
	case e < 38:
		return fmt.Appendf(b, `time=%s level=ERROR msg="upstream request failed" host=%s upstream=payments.payments.svc err="dial tcp 10.0.4.%d:8443: connect: connection refused"`, stamp, id, 2+r.IntN(200))
	case e == 38:
		return fmt.Appendf(b, `%s http: TLS handshake error from %s:%d: EOF`, t.Format("2006/01/02 15:04:05"), clientIP(r), 30000+r.IntN(30000))
	}
	return fmt.Appendf(b, `starting server addr=:8080 version=1.14.%d`, r.IntN(5))
}

// Go service, zap JSON with the host name among the logger's fields:
// orders in three currencies, debug, warn and error
// messages (four decline reasons) and a line of a panic's stack.
var currencies = []string{"EUR", "USD", "GBP"}
var declines = []string{"insufficient_funds", "card_expired", "fraud_suspected", "do_not_honor"}

func zapLine(b []byte, k int, r *rand.Rand, t time.Time, id string) []byte {
	e := k % 30
	ts := strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 7, 64)
	switch {
	case e < 12:
		return fmt.Appendf(b, `{"level":"info","ts":%s,"logger":"orders","caller":"orders/handler.go:88","msg":"order placed","host":"%s","order_id":%d,"items":%d,"amount":%d.%02d,"currency":"%s"}`,
			ts, id, 50000+r.IntN(9000), 1+r.IntN(6), 5+r.IntN(300), r.IntN(100), currencies[e%3])
	case e < 18:
		return fmt.Appendf(b, `{"level":"debug","ts":%s,"logger":"stock","caller":"stock/reserve.go:41","msg":"stock reserved","host":"%s","sku":"SKU-%d","qty":%d}`,
			ts, id, 10000+r.IntN(5000), 1+r.IntN(4))
	case e < 22:
		return fmt.Appendf(b, `{"level":"warn","ts":%s,"logger":"payments","caller":"payments/client.go:132","msg":"payment retry","host":"%s","attempt":%d,"backoff":"%dms"}`,
			ts, id, 1+r.IntN(3), 100*(1+r.IntN(8)))
	case e < 26:
		return fmt.Appendf(b, `{"level":"error","ts":%s,"logger":"payments","caller":"payments/client.go:160","msg":"payment declined","host":"%s","reason":"%s","order_id":%d,"stacktrace":"orders.(*Handler).Pay\n\t/src/orders/handler.go:131"}`,
			ts, id, declines[e-22], 50000+r.IntN(9000))
	case e < 29:
		return fmt.Appendf(b, `{"level":"info","ts":%s,"logger":"orders","caller":"orders/ship.go:27","msg":"order shipped","host":"%s","order_id":%d}`, ts, id, 50000+r.IntN(9000))
	}
	return fmt.Appendf(b, "\t/usr/local/go/src/runtime/proc.go:%d +0x%x", 250+r.IntN(40), r.IntN(4096))
}

// Spring Boot service, logback with the host name after the time:
// shipments by carrier, SQL debug lines, a
// connection pool time-out, an error with its exception (four classes),
// stack frames and a "Caused by".
var carriers = []string{"dhl", "ups", "fedex", "gls"}
var javaExceptions = []string{"java.net.SocketTimeoutException: Read timed out", "java.lang.IllegalStateException: Cart is locked", "java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"sku\" is null"}

func logbackLine(b []byte, k int, r *rand.Rand, t time.Time, id string) []byte {
	e := k % 40
	stamp := t.Format("2006-01-02 15:04:05.000")
	thread := pick(r, []string{"http-nio-8080-exec-1", "http-nio-8080-exec-4", "http-nio-8080-exec-9", "scheduling-1"})
	switch {
	case e < 20:
		return fmt.Appendf(b, "%s %s [%s] INFO  com.example.catalog.ShipmentService - order %d shipped carrier=%s parcels=%d",
			stamp, id, thread, 50000+r.IntN(9000), carriers[e%4], 1+r.IntN(3))
	case e < 28:
		return fmt.Appendf(b, "%s %s [%s] DEBUG org.hibernate.SQL - select p1_0.id,p1_0.name,p1_0.price from product p1_0 where p1_0.id=%d",
			stamp, id, thread, 1000+r.IntN(400))
	case e < 32:
		return fmt.Appendf(b, "%s %s [%s] WARN  com.zaxxer.hikari.pool.HikariPool - HikariPool-1 - Connection is not available, request timed out after 30000ms (total=10, active=10, idle=0, waiting=%d)",
			stamp, id, thread, r.IntN(20))
	case e < 34:
		return fmt.Appendf(b, "%s %s [%s] ERROR com.example.catalog.PriceController - price lookup failed for sku %d", stamp, id, thread, 10000+r.IntN(5000))
	case e == 34:
		return fmt.Appendf(b, "%s", javaExceptions[(k/40)%3])
	case e < 38:
		return fmt.Appendf(b, "\tat com.example.catalog.PriceClient.lookup(PriceClient.java:%d)", 40+r.IntN(60))
	case e == 38:
		return fmt.Appendf(b, "Caused by: java.io.IOException: Connection reset by peer")
	}
	return fmt.Appendf(b, "\t... %d common frames omitted", 20+r.IntN(30))
}

// A controller built with controller-runtime, logging through klog.
var klogFiles = []string{"controller.go", "reconciler.go"}
var controllers = []string{"deployment", "service", "ingress"}

func klogLine(b []byte, k int, r *rand.Rand, t time.Time, id string) []byte {
	e := k % 30
	head := func(sev byte, file string, line int) []byte {
		return fmt.Appendf(b, "%c%s %7d %s:%d] ", sev, t.Format("0102 15:04:05.000000"), 1, file, line)
	}
	switch {
	case e < 20:
		b = head('I', klogFiles[e%2], 110+e%2*97)
		return fmt.Appendf(b, `"Reconciling" object="%s/app-%d" kind="Deployment" reconcileID="%s"`, pick(r, namespaces), r.IntN(40), hexID(strconv.Itoa(r.Int()), 12))
	case e < 24:
		b = head('I', "leaderelection.go", 260)
		return fmt.Appendf(b, `"Lease renewed" lease="platform/operator-lock" holder="operator-%d"`, r.IntN(3))
	case e < 27:
		b = head('W', "reflector.go", 535)
		return fmt.Appendf(b, `watch of *v1.ConfigMap ended with: an error on the server ("unable to decode an event from the watch stream: context canceled") has prevented the request from succeeding`)
	case e < 29:
		b = head('E', "controller.go", 329)
		ctl := controllers[(k/30+e)%3]
		return fmt.Appendf(b, `"Reconciler error" err="Operation cannot be fulfilled on %ss.apps \"app-%d\": the object has been modified; please apply your changes to the latest version and try again" controller="%s" controllerGroup="apps" reconcileID="%s"`,
			ctl, r.IntN(40), ctl, hexID(strconv.Itoa(r.Int()), 12))
	}
	return fmt.Appendf(b, "Flag --metrics-bind-address has been deprecated, use --metrics-addr instead")
}

// PostgreSQL, one tenant database per pod, with log_line_prefix
// '%m [%p] %q%u@%d ' (session lines name user and database, background
// processes' lines do not): statement durations (four verbs), connections,
// errors, authentication failures (three users), checkpoints and warnings,
// plus STATEMENT/DETAIL continuation lines.
var verbs = []string{"SELECT", "INSERT", "UPDATE", "DELETE"}
var pgStatements = []string{
	"SELECT id, total FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20",
	"INSERT INTO orders (customer_id, total, currency) VALUES ($1, $2, $3) RETURNING id",
	"UPDATE stock SET qty = qty - $1 WHERE sku = $2",
	"DELETE FROM sessions WHERE expires_at < now()",
}
var pgUsers = []string{"app", "report", "admin"}

func postgresLine(b []byte, k int, r *rand.Rand, t time.Time, id string) []byte {
	e := k % 30
	b = fmt.Appendf(b, "%s UTC [%d] ", t.UTC().Format("2006-01-02 15:04:05.000"), 100+r.IntN(900))
	switch {
	case e == 25:
		return fmt.Appendf(b, "LOG:  checkpoint starting: time")
	case e == 26:
		return fmt.Appendf(b, "LOG:  checkpoint complete: wrote %d buffers (%.1f%%); 0 WAL file(s) added, 0 removed, 1 recycled; write=%d.%03d s, sync=0.002 s, total=%d.%03d s; sync files=%d, longest=0.001 s, average=0.001 s; distance=%d kB, estimate=%d kB",
			100+r.IntN(3000), r.Float64()*5, r.IntN(30), r.IntN(1000), r.IntN(30), r.IntN(1000), r.IntN(40), r.IntN(90000), r.IntN(90000))
	case e == 29:
		return fmt.Appendf(b, `LOG:  automatic vacuum of table "%s.public.sessions": index scans: 1`, id)
	}
	user := "app"
	if e == 23 || e == 24 {
		user = pgUsers[(k/30)%3]
	}
	b = fmt.Appendf(b, "%s@%s ", user, id)
	switch {
	case e < 16:
		return fmt.Appendf(b, "LOG:  duration: %s ms  statement: %s", seconds(r, 4), pgStatements[e%4])
	case e < 20:
		return fmt.Appendf(b, "LOG:  connection authorized: user=app database=%s application_name=api", id)
	case e < 22:
		return fmt.Appendf(b, `ERROR:  duplicate key value violates unique constraint "orders_pkey"`)
	case e == 22:
		return fmt.Appendf(b, "STATEMENT:  INSERT INTO orders (id, customer_id, total) VALUES (%d, %d, 12.50)", 50000+r.IntN(9000), r.IntN(10000))
	case e == 23:
		return fmt.Appendf(b, `FATAL:  password authentication failed for user "%s"`, user)
	case e == 24:
		return fmt.Appendf(b, `DETAIL:  Connection matched file "/var/lib/postgresql/data/pg_hba.conf" line 128: "host all all all scram-sha-256"`)
	}
	return fmt.Appendf(b, "WARNING:  there is already a transaction in progress")
}

// Redis: save triggers (three "save" rules), background saves, a warning
// and a line of the start-up banner.
func redisLine(b []byte, k int, r *rand.Rand, t time.Time, id string) []byte {
	e := k % 20
	if e == 19 {
		return fmt.Appendf(b, "                _._                                                  ")
	}
	b = fmt.Appendf(b, "1:M %s ", t.Format("02 Jan 2006 15:04:05.000"))
	switch {
	case e < 6:
		secs := []int{3600, 300, 60}[e%3]
		return fmt.Appendf(b, "* %d changes in %d seconds. Saving...", map[int]int{3600: 1, 300: 100, 60: 10000}[secs], secs)
	case e < 12:
		return fmt.Appendf(b, "* Background saving started by pid %d", 1000+r.IntN(9000))
	case e < 16:
		return fmt.Appendf(b, "* DB saved on disk")
	case e < 18:
		return fmt.Appendf(b, "* Background saving terminated with success")
	}
	return fmt.Appendf(b, "# WARNING Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition.")
}

// HAProxy HTTP log, one tenant's frontend per pod: three backends by two
// servers by two statuses, server state changes and a notice.
var backends = []string{"be_orders", "be_cart", "be_search"}

func haproxyLine(b []byte, k int, r *rand.Rand, t time.Time, id string) []byte {
	e := k % 24
	switch e {
	case 22:
		return fmt.Appendf(b, "[WARNING]  (8) : Server %s/srv%d is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
			backends[(k/24)%3], 1+(k/72)%2)
	case 23:
		return fmt.Appendf(b, "[NOTICE]   (1) : haproxy version is 2.9.7-5742051")
	}
	be := backends[e%3]
	srv := 1 + (e/3)%2
	status := []int{200, 503}[(e/6)%2]
	tr, bytes := 1+r.IntN(80), 200+r.IntN(8000)
	if status == 503 {
		tr, bytes = 0, 217
	}
	return fmt.Appendf(b, `%s:%d [%s] %s %s/srv%d 0/0/%d/%d/%d %d %d - - ---- %d/%d/%d/%d/0 0/0 "%s /api/v1/%s HTTP/1.1"`,
		clientIP(r), 30000+r.IntN(30000), t.Format("02/Jan/2006:15:04:05.000"), id, be, srv,
		r.IntN(3), tr, tr+r.IntN(3), status, bytes, 10+r.IntN(90), 10+r.IntN(90), r.IntN(10), r.IntN(5),
		pick(r, []string{"GET", "GET", "POST"}), be[3:])
}

// Celery worker: tasks received and succeeded (six tasks), failures (two
// task/exception pairs), warnings, debug lines and a traceback.
var tasks = []string{"tasks.send_email", "tasks.resize_image", "tasks.generate_invoice", "tasks.sync_inventory", "tasks.update_search_index", "tasks.cleanup_sessions"}

func celeryLine(b []byte, k int, r *rand.Rand, t time.Time, id string) []byte {
	e := k % 30
	stamp := t.Format("2006-01-02 15:04:05,000")
	uuid := func() string {
		h := hexID(strconv.Itoa(r.Int()), 32)
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	switch {
	case e < 6:
		return fmt.Appendf(b, "[%s: INFO/MainProcess] Task %s[%s] received", stamp, tasks[e], uuid())
	case e < 18:
		return fmt.Appendf(b, "[%s: INFO/ForkPoolWorker-%d] Task %s[%s] succeeded in %ss: None", stamp, 1+r.IntN(4), tasks[e%6], uuid(), seconds(r, 0.2))
	case e < 22:
		return fmt.Appendf(b, "[%s: WARNING/ForkPoolWorker-%d] Soft time limit (60s) exceeded for tasks.resize_image[%s]", stamp, 1+r.IntN(4), uuid())
	case e < 24:
		f := (k/30 + e) % 2
		return fmt.Appendf(b, "[%s: ERROR/ForkPoolWorker-%d] Task %s[%s] raised unexpected: %s", stamp, 1+r.IntN(4),
			[]string{"tasks.generate_invoice", "tasks.sync_inventory"}[f], uuid(), []string{"TimeoutError('upstream did not answer')", "ConnectionError('redis:6379')"}[f])
	case e == 24:
		return fmt.Appendf(b, "Traceback (most recent call last):")
	case e == 25:
		return fmt.Appendf(b, `  File "/app/tasks/invoices.py", line %d, in generate_invoice`, 20+r.IntN(200))
	case e < 29:
		return fmt.Appendf(b, "[%s: DEBUG/MainProcess] basic.qos: prefetch_count->%d", stamp, 4*(1+r.IntN(8)))
	}
	return fmt.Appendf(b, "[%s: INFO/MainProcess] Connected to redis://cache:6379/0", stamp)
}
