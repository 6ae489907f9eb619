package config

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Daemon is the decoded daemon configuration (`logmeter run --config`).
// Fields not given in the file hold the defaults of DefaultDaemon,
// DefaultInput, DefaultMultiline and DefaultElasticsearch.
//
// Relative paths (server.web_config, rules, state_dir, input paths and
// exclude patterns that contain a /, kubernetes.kubeconfig and every
// *_file of forward.elasticsearch) are resolved against the directory of
// the config file, so that the file means the same whatever the working
// directory; the Pos of such a String is that of the value as written.
// Empty optional paths mean "not set". Files named here are not opened.
type Daemon struct {
	Path       string
	Server     Server
	Inputs     []Input
	Rules      []String // rule file paths or path.Match globs
	StateDir   String   // checkpoints and the forward buffer
	Tail       Tail
	Kubernetes Kubernetes
	Forward    *Forward // nil when absent
}

// Server is the HTTP server for /metrics, /healthz and /readyz.
type Server struct {
	Listen String // host:port
	// WebConfig is the exporter-toolkit web config file (TLS, basic
	// auth); empty Value = plain HTTP.
	WebConfig String
}

// Input formats.
const (
	FormatAuto   = "auto"
	FormatPlain  = "plain"
	FormatCRI    = "cri"
	FormatDocker = "docker"
)

// Where to start reading files never seen before.
const (
	StartAtEnd       = "end"
	StartAtBeginning = "beginning"
)

// Input is one entry of inputs: a set of files read the same way.
type Input struct {
	Pos  Pos    // of the input's mapping
	Name String // unique; ^[a-zA-Z_][a-zA-Z0-9_.-]*$
	// Paths are globs: path.Match syntax per path element, and "**" as a
	// whole element matches zero or more directories.
	Paths []String
	// Exclude holds globs of files to leave out. A pattern without a /
	// is matched against the file's base name ("*_kube-system_*"); one
	// with a / against the whole path, like Paths.
	Exclude      []String
	Format       String // FormatAuto, FormatPlain, FormatCRI or FormatDocker
	StartAt      String // StartAtEnd or StartAtBeginning
	MaxLineBytes int    // longer lines are truncated
	Multiline    *Multiline
}

// Multiline joins lines into one event. Exactly one of Start and Continue
// is set: with Start, a line matching it begins a new event and other lines
// continue the current one; with Continue, a line matching it continues the
// current event and other lines begin a new one. Both compile with regexp.
type Multiline struct {
	Pos      Pos // of the multiline mapping
	Start    String
	Continue String
	MaxLines int           // an event is cut after this many lines
	Timeout  time.Duration // an event is flushed after waiting this long for more
}

// Tail holds the file-following settings.
type Tail struct {
	PollInterval       time.Duration // how often followed files are checked for new data
	ScanInterval       time.Duration // how often globs are expanded again
	CheckpointInterval time.Duration // how often read positions are saved
	MaxOpenFiles       int
	ReadChunk          int // bytes per read
}

// Kubernetes holds the pod-metadata and event settings.
type Kubernetes struct {
	Enabled    bool
	NodeName   String // required when Enabled; usually ${NODE_NAME}
	Kubeconfig String // empty Value = in-cluster config
	// Events sends Kubernetes events to forward.elasticsearch, into
	// EventsIndex (same syntax as Elasticsearch.Index).
	Events      bool
	EventsIndex String
	// EventsLeaseNamespace and EventsLeaseName name the Lease on which the
	// replicas watching events elect the one that does; an empty namespace
	// is the pod's own.
	EventsLeaseNamespace String
	EventsLeaseName      String
	Resync               time.Duration // informer resync period; 0 = none
}

// Forward holds the log forwarding destinations.
type Forward struct {
	Elasticsearch *Elasticsearch // nil when absent
}

// Buffer overflow policies.
const (
	WhenFullBlock      = "block"       // stop reading; nothing is lost
	WhenFullDropOldest = "drop_oldest" // drop the oldest buffered documents, counted
)

// Elasticsearch is the Bulk API forwarder.
type Elasticsearch struct {
	Pos  Pos      // of the elasticsearch mapping
	URLs []String // http or https, with a host, without credentials
	// Index is the index (or data stream) name. %{+FORMAT} is replaced by
	// the document's @timestamp (UTC) in Joda-style FORMAT, built from the
	// letters y Y x M w d D H h m s and the separators . - _
	Index      String
	DataStream bool // send with op_type create
	Auth       Auth
	TLS        TLS
	Batch      Batch
	Buffer     Buffer
	Workers    int
	Gzip       bool
	// CapturesKey is the document field under which the captures of the
	// matching rules are added; empty Value = captures are not sent.
	CapturesKey String
	Template    IndexTemplate
	Timeout     time.Duration // per Bulk request
	Retry       Retry
}

// Auth is at most one authentication scheme: basic (UsernameFile and
// PasswordFile), an API key or a bearer token, each read from a file.
type Auth struct {
	UsernameFile, PasswordFile, APIKeyFile, BearerTokenFile String
}

// TLS configures the client side of HTTPS connections.
type TLS struct {
	CAFile, CertFile, KeyFile String // CertFile and KeyFile both or neither
	InsecureSkipVerify        bool
	ServerName                String // empty Value = the URL's host
}

// Batch says when a Bulk request is sent: when it holds MaxDocs documents
// or MaxBytes bytes, or MaxWait after its first document.
type Batch struct {
	MaxDocs  int
	MaxBytes int64
	MaxWait  time.Duration
}

// Buffer is the on-disk buffer of documents not yet acknowledged.
type Buffer struct {
	MaxBytes int64  // at least Batch.MaxBytes
	WhenFull String // WhenFullBlock or WhenFullDropOldest
}

// IndexTemplate is the index template installed at start when Install.
type IndexTemplate struct {
	Install  bool
	Name     String
	Shards   int
	Replicas int
}

// Retry is the exponential backoff between attempts of a failed request.
type Retry struct {
	InitialBackoff time.Duration
	MaxBackoff     time.Duration // at least InitialBackoff
}

// Default values, all in one place. Size limits are shared with checks.
const (
	DefaultListen             = ":9144"
	DefaultStateDir           = "/var/lib/logmeter"
	DefaultPollInterval       = 250 * time.Millisecond
	DefaultScanInterval       = 10 * time.Second
	DefaultCheckpointInterval = 5 * time.Second
	DefaultMaxOpenFiles       = 1024
	DefaultReadChunk          = 256 << 10
	DefaultEventsIndex        = "k8s-events-%{+yyyy.MM.dd}"
	DefaultEventsLeaseName    = "logmeter-events"
	// EventsInput is the input that carries Kubernetes events as lines.
	EventsInput = "kubernetes-events"

	DefaultMaxLineBytes        = 256 << 10
	DefaultMultilineMaxLines   = 500
	DefaultMultilineTimeout    = 2 * time.Second
	DefaultIndex               = "logstash-%{+yyyy.MM.dd}"
	DefaultBatchMaxDocs        = 5000
	DefaultBatchMaxBytes       = 5 << 20
	DefaultBatchMaxWait        = time.Second
	DefaultBufferMaxBytes      = 1 << 30
	DefaultWorkers             = 2
	DefaultTemplateName        = "logmeter"
	DefaultTemplateShards      = 1
	DefaultTemplateReplicas    = 1
	DefaultESTimeout           = 30 * time.Second
	DefaultRetryInitialBackoff = 500 * time.Millisecond
	DefaultRetryMaxBackoff     = 30 * time.Second

	maxIntSize = 1 << 30 // limit of sizes held in an int (line and read sizes)
)

// DefaultDaemon returns the configuration of an empty file: no inputs, no
// rules, no forwarding, Kubernetes off, and the defaults above.
func DefaultDaemon() *Daemon {
	return &Daemon{
		Server:   Server{Listen: String{Value: DefaultListen}},
		StateDir: String{Value: DefaultStateDir},
		Tail: Tail{
			PollInterval:       DefaultPollInterval,
			ScanInterval:       DefaultScanInterval,
			CheckpointInterval: DefaultCheckpointInterval,
			MaxOpenFiles:       DefaultMaxOpenFiles,
			ReadChunk:          DefaultReadChunk,
		},
		Kubernetes: Kubernetes{EventsIndex: String{Value: DefaultEventsIndex}, EventsLeaseName: String{Value: DefaultEventsLeaseName}},
	}
}

// DefaultInput returns an input with the defaults: format auto, start at
// the end, 256KiB lines, no multiline.
func DefaultInput() Input {
	return Input{
		Format:       String{Value: FormatAuto},
		StartAt:      String{Value: StartAtEnd},
		MaxLineBytes: DefaultMaxLineBytes,
	}
}

// DefaultMultiline returns the multiline defaults (without a regexp).
func DefaultMultiline() *Multiline {
	return &Multiline{MaxLines: DefaultMultilineMaxLines, Timeout: DefaultMultilineTimeout}
}

// DefaultElasticsearch returns the forwarder defaults (without URLs): the
// logstash-%{+yyyy.MM.dd} index, 2 workers, gzip, batches of 5000
// documents, 5MiB or 1s, a 1GiB buffer that blocks when full, 30s request
// timeout, backoff from 500ms to 30s, no template installed.
func DefaultElasticsearch() *Elasticsearch {
	return &Elasticsearch{
		Index:   String{Value: DefaultIndex},
		Batch:   Batch{MaxDocs: DefaultBatchMaxDocs, MaxBytes: DefaultBatchMaxBytes, MaxWait: DefaultBatchMaxWait},
		Buffer:  Buffer{MaxBytes: DefaultBufferMaxBytes, WhenFull: String{Value: WhenFullBlock}},
		Workers: DefaultWorkers,
		Gzip:    true,
		Template: IndexTemplate{
			Name:     String{Value: DefaultTemplateName},
			Shards:   DefaultTemplateShards,
			Replicas: DefaultTemplateReplicas,
		},
		Timeout: DefaultESTimeout,
		Retry:   Retry{InitialBackoff: DefaultRetryInitialBackoff, MaxBackoff: DefaultRetryMaxBackoff},
	}
}

func inputFormats() []string { return []string{FormatAuto, FormatPlain, FormatCRI, FormatDocker} }
func startAts() []string     { return []string{StartAtEnd, StartAtBeginning} }
func whenFulls() []string    { return []string{WhenFullBlock, WhenFullDropOldest} }
func reservedDocKeys() []string {
	return []string{"@timestamp", "message", "stream", "log", "kubernetes", "host"}
}

// LoadDaemon reads and parses the daemon config file at path, expanding
// environment variables with os.LookupEnv. A read failure is a one-line
// error naming the path. Content problems are returned as a Problems error
// together with what could be decoded.
func LoadDaemon(path string) (*Daemon, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	d, probs := ParseDaemon(path, data, os.LookupEnv)
	return d, probs.Err()
}

// ParseDaemon decodes and validates the daemon config data read from path.
// Environment references in scalar values are expanded with lookupEnv (see
// expandEnv) after parsing, so positions stay those of the file. A plain
// (unquoted) value is then typed by its expanded text, so that `workers:
// ${WORKERS}` is a number. Inside flow collections ({...} or [...]) a
// reference must be quoted: YAML does not allow { or } in plain scalars
// there. Problems never show text that came from the environment: they
// name the variables instead. The returned config is never nil; when there
// are problems it holds what could be decoded. Problems are sorted.
func ParseDaemon(path string, data []byte, lookupEnv func(string) (string, bool)) (*Daemon, Problems) {
	cfg := DefaultDaemon()
	cfg.Path = path
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	d := newDecoder(path, data)
	d.env = map[*yaml.Node]string{}
	if root := d.document(data, "config file"); root != nil {
		d.expandTree(root, "", lookupEnv, map[*yaml.Node]bool{})
		d.daemon(cfg, root)
	}
	d.probs.Sort()
	return cfg, d.probs
}

// expandTree expands environment references in every scalar value under n
// (mapping keys are left alone) and records in d.env which scalars took
// text from the environment. at is n's key path, for messages.
func (d *decoder) expandTree(n *yaml.Node, at string, lookup func(string) (string, bool), seen map[*yaml.Node]bool) {
	n = resolve(n)
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if at != "" {
				key = at + "." + key
			}
			d.expandTree(n.Content[i+1], key, lookup, seen)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.expandTree(c, at+"["+strconv.Itoa(i)+"]", lookup, seen)
		}
	case yaml.ScalarNode:
		out, vars, err := expandEnv(n.Value, lookup)
		if err != nil {
			d.addf(n, "%s: %v", cmp.Or(at, "value"), err)
			return
		}
		if len(vars) > 0 {
			refs := make([]string, len(vars))
			for i, v := range vars {
				refs[i] = "${" + v + "}"
			}
			d.env[n] = strings.Join(refs, ", ")
		}
		if out == n.Value {
			return
		}
		n.Value = out
		if n.Style == 0 { // plain and untagged: type the text as if written here
			n.Tag = ""
			n.Tag = n.ShortTag()
			if n.Tag == "!!null" {
				n.Tag = "!!str" // an empty or "null" value is still a string here
			}
		}
	}
}

// keyFunc decodes the value of one key of a section.
type keyFunc struct {
	key string
	fn  func(val *yaml.Node)
}

// section decodes mapping n, calling the function of each key present with
// its value. Unknown keys are problems; a null value counts as absent (the
// default applies). what names n in "must be a mapping" messages, ctx says
// where keys are ("in tail"). It returns the fields present, by key.
func (d *decoder) section(n *yaml.Node, what, ctx string, keys []keyFunc) (map[string]field, bool) {
	valid := make([]string, len(keys))
	for i, k := range keys {
		valid[i] = k.key
	}
	fields, ok := d.mapping(n, what, ctx, valid)
	if !ok {
		return nil, false
	}
	present := map[string]field{}
	for _, f := range fields {
		if isNull(f.val) {
			continue
		}
		present[f.name] = f
		for _, k := range keys {
			if k.key == f.name {
				k.fn(f.val)
			}
		}
	}
	return present, true
}

func (d *decoder) daemon(cfg *Daemon, root *yaml.Node) {
	var kf map[string]field // the kubernetes keys given
	present, ok := d.section(root, "a config file", "at top level", []keyFunc{
		{"server", func(v *yaml.Node) { d.server(&cfg.Server, v) }},
		{"inputs", func(v *yaml.Node) { cfg.Inputs = d.inputs(v) }},
		{"rules", func(v *yaml.Node) { cfg.Rules = d.pathGlobs(v, "rules") }},
		{"state_dir", func(v *yaml.Node) {
			if s, ok := d.nonEmpty(v, "state_dir"); ok {
				cfg.StateDir = d.resolvePath(s)
			}
		}},
		{"tail", func(v *yaml.Node) { d.tail(&cfg.Tail, v) }},
		{"kubernetes", func(v *yaml.Node) { kf = d.kubernetes(&cfg.Kubernetes, v) }},
		{"forward", func(v *yaml.Node) { cfg.Forward = d.forward(v) }},
	})
	if !ok {
		return
	}

	// Kubernetes settings that depend on others.
	k := &cfg.Kubernetes
	if k.Enabled && k.NodeName.Value == "" {
		if f, ok := kf["node_name"]; ok {
			if vars, env := d.env[f.val]; env {
				d.addf(f.val, "kubernetes.node_name must not be empty when kubernetes.enabled is true (it comes from %s, which is empty or unset)", vars)
			} else {
				d.addf(f.val, "kubernetes.node_name must not be empty when kubernetes.enabled is true")
			}
		} else {
			d.addf(kf["enabled"].key, "kubernetes.enabled needs kubernetes.node_name (usually \"${NODE_NAME}\", set from the downward API)")
		}
	}
	if k.Events {
		ev := kf["events"].val
		for _, in := range cfg.Inputs {
			if in.Name.Value == EventsInput {
				d.probs.add(in.Name.Pos, "input name %q is reserved for kubernetes.events", EventsInput)
			}
		}
		if cfg.Forward == nil || cfg.Forward.Elasticsearch == nil {
			d.addf(ev, "kubernetes.events needs forward.elasticsearch, where the events are sent")
		}
	}

	if len(cfg.Inputs) == 0 && !k.Events {
		if f, ok := present["inputs"]; ok {
			if f.val.Kind == yaml.SequenceNode && len(f.val.Content) == 0 {
				d.addf(f.val, "inputs must not be empty: logmeter would read nothing")
			}
		} else {
			d.addf(root, "config has no inputs: add at least one under \"inputs\"")
		}
	}
}

func (d *decoder) server(s *Server, n *yaml.Node) {
	d.section(n, "server", "in server", []keyFunc{
		{"listen", func(v *yaml.Node) {
			str, ok := d.nonEmpty(v, "server.listen")
			if !ok {
				return
			}
			if !validListen(str.Value) {
				d.addf(v, "invalid server.listen %s: want host:port, such as \":9144\" or \"127.0.0.1:9144\"", d.quote(v, str.Value))
				return
			}
			s.Listen = str
		}},
		{"web_config", func(v *yaml.Node) { s.WebConfig = d.optPath(v, "server.web_config") }},
	})
}

func validListen(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	return err == nil && p <= 65535
}

func (d *decoder) inputs(n *yaml.Node) []Input {
	items, _ := d.sequence(n, "inputs")
	var out []Input
	first := map[string]Pos{}
	for _, it := range items {
		in, ok := d.input(it)
		if !ok {
			continue
		}
		if name := in.Name.Value; name != "" {
			if p, dup := first[name]; dup {
				d.probs.add(in.Name.Pos, "duplicate input name %q (first defined at %s)", name, p)
			} else {
				first[name] = in.Name.Pos
			}
		}
		out = append(out, in)
	}
	return out
}

func (d *decoder) input(n *yaml.Node) (Input, bool) {
	in := DefaultInput()
	in.Pos = d.pos(n)
	present, ok := d.section(n, "an input", "in input", []keyFunc{
		{"name", func(v *yaml.Node) {
			s, ok := d.str(v, "name")
			if !ok {
				return
			}
			if !isRuleName(s.Value) {
				d.addf(v, "invalid input name %s: must match ^[a-zA-Z_][a-zA-Z0-9_.-]*$", d.quote(v, s.Value))
				return
			}
			in.Name = s
		}},
		{"paths", func(v *yaml.Node) {
			in.Paths = d.globs(v, "paths", true)
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				d.addf(v, "paths must not be empty")
			}
		}},
		{"exclude", func(v *yaml.Node) { in.Exclude = d.globs(v, "exclude", false) }},
		{"format", func(v *yaml.Node) {
			if s, ok := d.enum(v, "format", inputFormats()); ok {
				in.Format = s
			}
		}},
		{"start_at", func(v *yaml.Node) {
			if s, ok := d.enum(v, "start_at", startAts()); ok {
				in.StartAt = s
			}
		}},
		{"max_line_bytes", func(v *yaml.Node) {
			if b, ok := d.size(v, "max_line_bytes", maxIntSize); ok {
				in.MaxLineBytes = int(b)
			}
		}},
		{"multiline", func(v *yaml.Node) { in.Multiline = d.multiline(v) }},
	})
	if !ok {
		return in, false
	}
	if _, ok := present["name"]; !ok {
		d.addf(n, "input is missing required key \"name\"")
	}
	if _, ok := present["paths"]; !ok {
		d.addf(n, "input %sis missing required key \"paths\"", quoteSp(in.Name.Value))
	}
	return in, true
}

// globs decodes a list of file globs. With all, every entry is a path glob
// resolved against the config directory; else (exclude) only entries with
// a / are, and the others are base-name patterns.
func (d *decoder) globs(n *yaml.Node, what string, all bool) []String {
	items, _ := d.sequence(n, what)
	var out []String
	for _, it := range items {
		s, ok := d.nonEmpty(it, "an entry of "+what)
		if !ok {
			continue
		}
		if err := checkGlob(s.Value); err != nil {
			d.addf(it, "invalid glob %s: %v", d.quote(it, s.Value), err)
			continue
		}
		if all || strings.Contains(s.Value, "/") {
			s = d.resolvePath(s)
		}
		out = append(out, s)
	}
	return out
}

// checkGlob checks a file glob: path.Match syntax in each path element,
// and ** only as a whole element.
func checkGlob(g string) error {
	for _, elem := range strings.Split(g, "/") {
		if elem == "**" {
			continue
		}
		if strings.Contains(elem, "**") {
			return errors.New("** must be a whole path element, as in /var/log/**/*.log")
		}
		if _, err := path.Match(elem, ""); err != nil {
			return err
		}
	}
	return nil
}

// pathGlobs decodes a list of paths or path.Match globs resolved against
// the config directory (rules).
func (d *decoder) pathGlobs(n *yaml.Node, what string) []String {
	items, _ := d.sequence(n, what)
	var out []String
	for _, it := range items {
		s, ok := d.nonEmpty(it, "an entry of "+what)
		if !ok {
			continue
		}
		if _, err := path.Match(s.Value, ""); err != nil {
			d.addf(it, "invalid glob %s: %v", d.quote(it, s.Value), err)
			continue
		}
		out = append(out, d.resolvePath(s))
	}
	return out
}

func (d *decoder) multiline(n *yaml.Node) *Multiline {
	m := DefaultMultiline()
	m.Pos = d.pos(n)
	re := func(v *yaml.Node, what string) String {
		s, ok := d.nonEmpty(v, what)
		if !ok {
			return String{}
		}
		if _, err := regexp.Compile(s.Value); err != nil {
			d.addf(v, "invalid %s %s: %s", what, d.quote(v, s.Value), d.regexpError(v, err))
			return String{}
		}
		return s
	}
	present, ok := d.section(n, "multiline", "in multiline", []keyFunc{
		{"start", func(v *yaml.Node) { m.Start = re(v, "multiline.start") }},
		{"continue", func(v *yaml.Node) { m.Continue = re(v, "multiline.continue") }},
		{"max_lines", func(v *yaml.Node) {
			if i, ok := d.intRange(v, "multiline.max_lines", 1, 1<<20); ok {
				m.MaxLines = i
			}
		}},
		{"timeout", func(v *yaml.Node) {
			if t, ok := d.duration(v, "multiline.timeout", false); ok {
				m.Timeout = t
			}
		}},
	})
	if !ok {
		return nil
	}
	start, hasStart := present["start"]
	_, hasCont := present["continue"]
	switch {
	case hasStart && hasCont:
		later := present["continue"]
		if before(later.key, start.key) {
			later = start
		}
		d.addf(later.key, "multiline takes \"start\" or \"continue\", not both")
	case !hasStart && !hasCont:
		d.addf(n, "multiline needs \"start\" or \"continue\"")
	}
	return m
}

// detail returns err's text for a message about scalar n, or, when n came
// from the environment, hint: error texts may quote parts of the value.
func (d *decoder) detail(n *yaml.Node, err error, hint string) string {
	if _, env := d.env[n]; env {
		return hint
	}
	return err.Error()
}

// indexHint says what an index name looks like, for values from the
// environment, whose errors are not shown.
const indexHint = `want a lower-case name without \ / * ? " < > | , # : or spaces, not starting with - _ or +, with optional dates such as %{+yyyy.MM.dd}`

// regexpError describes a regexp compile error, without the offending text
// when the value came from the environment.
func (d *decoder) regexpError(n *yaml.Node, err error) string {
	var se *syntax.Error
	if !errors.As(err, &se) {
		if _, env := d.env[n]; env {
			return "does not compile"
		}
		return err.Error()
	}
	if _, env := d.env[n]; env || se.Expr == "" {
		return se.Code.String()
	}
	return se.Code.String() + ": `" + se.Expr + "`"
}

func (d *decoder) tail(t *Tail, n *yaml.Node) {
	dur := func(key string, dst *time.Duration) keyFunc {
		return keyFunc{key, func(v *yaml.Node) {
			if x, ok := d.duration(v, "tail."+key, false); ok {
				*dst = x
			}
		}}
	}
	d.section(n, "tail", "in tail", []keyFunc{
		dur("poll_interval", &t.PollInterval),
		dur("scan_interval", &t.ScanInterval),
		dur("checkpoint_interval", &t.CheckpointInterval),
		{"max_open_files", func(v *yaml.Node) {
			if i, ok := d.intRange(v, "tail.max_open_files", 1, 1<<20); ok {
				t.MaxOpenFiles = i
			}
		}},
		{"read_chunk", func(v *yaml.Node) {
			if b, ok := d.size(v, "tail.read_chunk", maxIntSize); ok {
				t.ReadChunk = int(b)
			}
		}},
	})
}

func (d *decoder) kubernetes(k *Kubernetes, n *yaml.Node) map[string]field {
	present, _ := d.section(n, "kubernetes", "in kubernetes", []keyFunc{
		{"enabled", func(v *yaml.Node) { k.Enabled, _ = d.boolean(v, "kubernetes.enabled") }},
		{"node_name", func(v *yaml.Node) { k.NodeName, _ = d.str(v, "kubernetes.node_name") }},
		{"kubeconfig", func(v *yaml.Node) { k.Kubeconfig = d.optPath(v, "kubernetes.kubeconfig") }},
		{"events", func(v *yaml.Node) { k.Events, _ = d.boolean(v, "kubernetes.events") }},
		{"events_index", func(v *yaml.Node) {
			if s, ok := d.index(v, "kubernetes.events_index"); ok {
				k.EventsIndex = s
			}
		}},
		{"events_lease_namespace", func(v *yaml.Node) { k.EventsLeaseNamespace, _ = d.str(v, "kubernetes.events_lease_namespace") }},
		{"events_lease_name", func(v *yaml.Node) {
			if s, ok := d.str(v, "kubernetes.events_lease_name"); ok && s.Value != "" {
				k.EventsLeaseName = s
			}
		}},
		{"resync", func(v *yaml.Node) {
			if x, ok := d.duration(v, "kubernetes.resync", true); ok {
				k.Resync = x
			}
		}},
	})
	return present
}

func (d *decoder) forward(n *yaml.Node) *Forward {
	f := &Forward{}
	if _, ok := d.section(n, "forward", "in forward", []keyFunc{
		{"elasticsearch", func(v *yaml.Node) { f.Elasticsearch = d.elasticsearch(v) }},
	}); !ok {
		return nil
	}
	return f
}

func (d *decoder) elasticsearch(n *yaml.Node) *Elasticsearch {
	const p = "forward.elasticsearch."
	es := DefaultElasticsearch()
	es.Pos = d.pos(n)
	var batchBytes, bufferBytes *yaml.Node // for the buffer >= batch check
	var initial, maxBackoff *yaml.Node     // for the backoff check
	present, ok := d.section(n, "forward.elasticsearch", "in forward.elasticsearch", []keyFunc{
		{"urls", func(v *yaml.Node) {
			items, ok := d.sequence(v, p+"urls")
			if ok && len(items) == 0 {
				d.addf(v, p+"urls must not be empty")
			}
			for _, it := range items {
				if s, ok := d.esURL(it); ok {
					es.URLs = append(es.URLs, s)
				}
			}
		}},
		{"index", func(v *yaml.Node) {
			if s, ok := d.index(v, p+"index"); ok {
				es.Index = s
			}
		}},
		{"data_stream", func(v *yaml.Node) { es.DataStream, _ = d.boolean(v, p+"data_stream") }},
		{"auth", func(v *yaml.Node) { d.auth(&es.Auth, v) }},
		{"tls", func(v *yaml.Node) { d.tls(&es.TLS, v) }},
		{"batch", func(v *yaml.Node) {
			fields, _ := d.section(v, p+"batch", "in "+p+"batch", []keyFunc{
				{"max_docs", func(v *yaml.Node) {
					if i, ok := d.intRange(v, p+"batch.max_docs", 1, 1<<24); ok {
						es.Batch.MaxDocs = i
					}
				}},
				{"max_bytes", func(v *yaml.Node) {
					if b, ok := d.size(v, p+"batch.max_bytes", maxIntSize); ok {
						es.Batch.MaxBytes = b
					}
				}},
				{"max_wait", func(v *yaml.Node) {
					if x, ok := d.duration(v, p+"batch.max_wait", false); ok {
						es.Batch.MaxWait = x
					}
				}},
			})
			batchBytes = fields["max_bytes"].val
		}},
		{"buffer", func(v *yaml.Node) {
			fields, _ := d.section(v, p+"buffer", "in "+p+"buffer", []keyFunc{
				{"max_bytes", func(v *yaml.Node) {
					if b, ok := d.size(v, p+"buffer.max_bytes", 0); ok {
						es.Buffer.MaxBytes = b
					}
				}},
				{"when_full", func(v *yaml.Node) {
					if s, ok := d.enum(v, p+"buffer.when_full", whenFulls()); ok {
						es.Buffer.WhenFull = s
					}
				}},
			})
			bufferBytes = fields["max_bytes"].val
		}},
		{"workers", func(v *yaml.Node) {
			if i, ok := d.intRange(v, p+"workers", 1, 256); ok {
				es.Workers = i
			}
		}},
		{"gzip", func(v *yaml.Node) {
			if b, ok := d.boolean(v, p+"gzip"); ok {
				es.Gzip = b
			}
		}},
		{"captures_key", func(v *yaml.Node) {
			s, ok := d.str(v, p+"captures_key")
			if !ok {
				return
			}
			if err := checkFieldName(s.Value); err != nil {
				d.addf(v, "invalid %scaptures_key %s: %s", p, d.quote(v, s.Value),
					d.detail(v, err, "want a dotted field name that does not start with _ nor with a field every document has ("+strings.Join(reservedDocKeys(), ", ")+")"))
				return
			}
			es.CapturesKey = s
		}},
		{"template", func(v *yaml.Node) { d.template(&es.Template, v) }},
		{"timeout", func(v *yaml.Node) {
			if x, ok := d.duration(v, p+"timeout", false); ok {
				es.Timeout = x
			}
		}},
		{"retry", func(v *yaml.Node) {
			fields, _ := d.section(v, p+"retry", "in "+p+"retry", []keyFunc{
				{"initial_backoff", func(v *yaml.Node) {
					if x, ok := d.duration(v, p+"retry.initial_backoff", false); ok {
						es.Retry.InitialBackoff = x
					}
				}},
				{"max_backoff", func(v *yaml.Node) {
					if x, ok := d.duration(v, p+"retry.max_backoff", false); ok {
						es.Retry.MaxBackoff = x
					}
				}},
			})
			initial, maxBackoff = fields["initial_backoff"].val, fields["max_backoff"].val
		}},
	})
	if !ok {
		return nil
	}
	if _, ok := present["urls"]; !ok {
		d.addf(n, "forward.elasticsearch is missing required key \"urls\"")
	}
	if es.Buffer.MaxBytes < es.Batch.MaxBytes {
		at := firstNode(bufferBytes, batchBytes)
		if d.fromEnv(bufferBytes, batchBytes) {
			d.addf(at, p+"buffer.max_bytes must be at least batch.max_bytes")
		} else {
			d.addf(at, p+"buffer.max_bytes (%s) must be at least batch.max_bytes (%s)", FormatSize(es.Buffer.MaxBytes), FormatSize(es.Batch.MaxBytes))
		}
	}
	if es.Retry.MaxBackoff < es.Retry.InitialBackoff {
		at := firstNode(maxBackoff, initial)
		if d.fromEnv(maxBackoff, initial) {
			d.addf(at, p+"retry.max_backoff must be at least retry.initial_backoff")
		} else {
			d.addf(at, p+"retry.max_backoff (%s) must be at least retry.initial_backoff (%s)", es.Retry.MaxBackoff, es.Retry.InitialBackoff)
		}
	}
	return es
}

// firstNode returns the first non-nil node.
func firstNode(nodes ...*yaml.Node) *yaml.Node {
	for _, n := range nodes {
		if n != nil {
			return n
		}
	}
	return nil
}

// fromEnv reports whether any of nodes took text from the environment.
func (d *decoder) fromEnv(nodes ...*yaml.Node) bool {
	for _, n := range nodes {
		if _, ok := d.env[n]; ok && n != nil {
			return true
		}
	}
	return false
}

// esURL decodes one entry of forward.elasticsearch.urls.
func (d *decoder) esURL(n *yaml.Node) (String, bool) {
	const what = "an entry of forward.elasticsearch.urls"
	s, ok := d.nonEmpty(n, what)
	if !ok {
		return s, false
	}
	_, env := d.env[n]
	u, err := url.Parse(s.Value)
	switch {
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) && !env {
			err = ue.Err
		}
		if env {
			d.addf(n, "invalid URL %s", d.quote(n, s.Value))
		} else {
			d.addf(n, "invalid URL %s: %v", d.quote(n, s.Value), err)
		}
	case u.User != nil:
		// Do not show the value: it holds a password.
		d.addf(n, "%s must not hold credentials: use forward.elasticsearch.auth.username_file and password_file", what)
	case u.Scheme != "http" && u.Scheme != "https":
		d.addf(n, "URL %s must start with http:// or https://", d.quote(n, s.Value))
	case u.Host == "":
		d.addf(n, "URL %s has no host", d.quote(n, s.Value))
	case u.RawQuery != "" || u.Fragment != "":
		d.addf(n, "URL %s must not have a query or fragment", d.quote(n, s.Value))
	default:
		return s, true
	}
	return s, false
}

func (d *decoder) auth(a *Auth, n *yaml.Node) {
	const p = "forward.elasticsearch.auth."
	file := func(key string, dst *String) keyFunc {
		return keyFunc{key, func(v *yaml.Node) { *dst = d.optPath(v, p+key) }}
	}
	present, ok := d.section(n, "forward.elasticsearch.auth", "in forward.elasticsearch.auth", []keyFunc{
		file("username_file", &a.UsernameFile),
		file("password_file", &a.PasswordFile),
		file("api_key_file", &a.APIKeyFile),
		file("bearer_token_file", &a.BearerTokenFile),
	})
	if !ok {
		return
	}
	set := func(key string, s String) (field, bool) {
		f, ok := present[key]
		return f, ok && s.Value != ""
	}
	user, hasUser := set("username_file", a.UsernameFile)
	pass, hasPass := set("password_file", a.PasswordFile)
	switch {
	case hasUser && !hasPass:
		d.addf(user.key, p+"username_file needs "+p+"password_file")
	case hasPass && !hasUser:
		d.addf(pass.key, p+"password_file needs "+p+"username_file")
	}
	// At most one scheme; report each later one against the first.
	type scheme struct {
		key string
		f   field
	}
	var schemes []scheme
	if hasUser || hasPass {
		f := user
		if !hasUser || hasPass && before(pass.key, user.key) {
			f = pass
		}
		schemes = append(schemes, scheme{"username_file/password_file", f})
	}
	if f, ok := set("api_key_file", a.APIKeyFile); ok {
		schemes = append(schemes, scheme{"api_key_file", f})
	}
	if f, ok := set("bearer_token_file", a.BearerTokenFile); ok {
		schemes = append(schemes, scheme{"bearer_token_file", f})
	}
	slices.SortStableFunc(schemes, func(x, y scheme) int {
		if before(x.f.key, y.f.key) {
			return -1
		}
		if before(y.f.key, x.f.key) {
			return 1
		}
		return 0
	})
	for _, s := range schemes[min(1, len(schemes)):] {
		d.addf(s.f.key, "%s%s cannot be combined with %s%s: use one of basic auth (username_file and password_file), api_key_file or bearer_token_file",
			p, s.key, p, schemes[0].key)
	}
}

// before reports whether a comes before b in the file.
func before(a, b *yaml.Node) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
}

func (d *decoder) tls(t *TLS, n *yaml.Node) {
	const p = "forward.elasticsearch.tls."
	present, ok := d.section(n, "forward.elasticsearch.tls", "in forward.elasticsearch.tls", []keyFunc{
		{"ca_file", func(v *yaml.Node) { t.CAFile = d.optPath(v, p+"ca_file") }},
		{"cert_file", func(v *yaml.Node) { t.CertFile = d.optPath(v, p+"cert_file") }},
		{"key_file", func(v *yaml.Node) { t.KeyFile = d.optPath(v, p+"key_file") }},
		{"insecure_skip_verify", func(v *yaml.Node) { t.InsecureSkipVerify, _ = d.boolean(v, p+"insecure_skip_verify") }},
		{"server_name", func(v *yaml.Node) { t.ServerName, _ = d.str(v, p+"server_name") }},
	})
	if !ok {
		return
	}
	switch {
	case t.CertFile.Value != "" && t.KeyFile.Value == "":
		d.addf(present["cert_file"].key, p+"cert_file needs "+p+"key_file")
	case t.KeyFile.Value != "" && t.CertFile.Value == "":
		d.addf(present["key_file"].key, p+"key_file needs "+p+"cert_file")
	}
}

func (d *decoder) template(t *IndexTemplate, n *yaml.Node) {
	const p = "forward.elasticsearch.template."
	d.section(n, "forward.elasticsearch.template", "in forward.elasticsearch.template", []keyFunc{
		{"install", func(v *yaml.Node) { t.Install, _ = d.boolean(v, p+"install") }},
		{"name", func(v *yaml.Node) {
			s, ok := d.nonEmpty(v, p+"name")
			if !ok {
				return
			}
			if err := checkIndexName(s.Value, false); err != nil {
				d.addf(v, "invalid %sname %s: %s", p, d.quote(v, s.Value), d.detail(v, err, indexHint))
				return
			}
			t.Name = s
		}},
		{"shards", func(v *yaml.Node) {
			if i, ok := d.intRange(v, p+"shards", 1, 1024); ok {
				t.Shards = i
			}
		}},
		{"replicas", func(v *yaml.Node) {
			if i, ok := d.intRange(v, p+"replicas", 0, 1024); ok {
				t.Replicas = i
			}
		}},
	})
}

// Value helpers. what is the key path used in messages.

// nonEmpty returns scalar n as a non-empty String.
func (d *decoder) nonEmpty(n *yaml.Node, what string) (String, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return s, false
	}
	if s.Value == "" {
		if vars, env := d.env[n]; env {
			d.addf(n, "%s must not be empty (it comes from %s, which is empty or unset)", what, vars)
		} else {
			d.addf(n, "%s must not be empty", what)
		}
		return s, false
	}
	return s, true
}

// optPath returns scalar n as a path resolved against the config
// directory; "" (not set) stays "".
func (d *decoder) optPath(n *yaml.Node, what string) String {
	s, ok := d.str(n, what)
	if !ok || s.Value == "" {
		return String{}
	}
	return d.resolvePath(s)
}

// resolvePath makes a relative s.Value relative to the config directory.
func (d *decoder) resolvePath(s String) String {
	if !filepath.IsAbs(s.Value) {
		s.Value = filepath.Join(filepath.Dir(d.file), s.Value)
		s.src = "" // Value no longer matches the source text
	}
	return s
}

// enum returns scalar n, which must be one of valid.
func (d *decoder) enum(n *yaml.Node, what string, valid []string) (String, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return s, false
	}
	if !slices.Contains(valid, s.Value) {
		d.addf(n, "unknown %s %s (valid: %s)", what, d.quote(n, s.Value), strings.Join(valid, ", "))
		return s, false
	}
	return s, true
}

// duration returns n as a duration: Go syntax, or days as in "7d". It
// must not be negative, nor zero unless zeroOK.
func (d *decoder) duration(n *yaml.Node, what string, zeroOK bool) (time.Duration, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return 0, false
	}
	x, err := parseDuration(s.Value)
	switch {
	case err != nil:
		d.addf(n, "invalid %s %s: want a duration such as 500ms, 10s or 5m", what, d.quote(n, s.Value))
	case x < 0:
		d.addf(n, "%s must not be negative, got %s", what, d.quote(n, s.Value))
	case x == 0 && !zeroOK:
		d.addf(n, "%s must be greater than 0, got %s", what, d.quote(n, s.Value))
	default:
		return x, true
	}
	return 0, false
}

// size returns n as a byte size (see ParseSize) greater than 0 and, when
// limit > 0, at most limit.
func (d *decoder) size(n *yaml.Node, what string, limit int64) (int64, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return 0, false
	}
	b, err := parseSize(s.Value)
	switch {
	case err != nil:
		d.addf(n, "invalid %s %s: %s", what, d.quote(n, s.Value), d.detail(n, err, sizeHint))
	case b == 0:
		d.addf(n, "%s must be greater than 0", what)
	case limit > 0 && b > limit:
		d.addf(n, "%s must be at most %s, got %s", what, FormatSize(limit), d.quote(n, s.Value))
	default:
		return b, true
	}
	return 0, false
}

// intRange returns n as a whole number from lo to hi.
func (d *decoder) intRange(n *yaml.Node, what string, lo, hi int) (int, bool) {
	v, ok := d.integer(n, what)
	if !ok {
		return 0, false
	}
	switch {
	case v < int64(lo):
		d.addf(n, "%s must be at least %d, got %s", what, lo, d.describe(n))
	case v > int64(hi):
		d.addf(n, "%s must be at most %d, got %s", what, hi, d.describe(n))
	default:
		return int(v), true
	}
	return 0, false
}

// index returns n as an Elasticsearch index name, which may hold
// %{+FORMAT} dates.
func (d *decoder) index(n *yaml.Node, what string) (String, bool) {
	s, ok := d.nonEmpty(n, what)
	if !ok {
		return s, false
	}
	if err := checkIndexName(s.Value, true); err != nil {
		d.addf(n, "invalid %s %s: %s", what, d.quote(n, s.Value), d.detail(n, err, indexHint))
		return s, false
	}
	return s, true
}

// checkIndexName checks an Elasticsearch index, data stream or template
// name: lower case, none of \ / * ? " < > | , # : or space, not starting
// with - _ or +, not . or ..; with dates, %{+FORMAT} parts are allowed.
func checkIndexName(s string, dates bool) error {
	var static strings.Builder
	for i := 0; i < len(s); {
		if dates && strings.HasPrefix(s[i:], "%{") {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return errors.New("unterminated %{")
			}
			format, ok := strings.CutPrefix(s[i+2:i+end], "+")
			if !ok || format == "" {
				return fmt.Errorf("unsupported %s: only dates such as %%{+yyyy.MM.dd} are supported", s[i:i+end+1])
			}
			for _, c := range format {
				if !strings.ContainsRune("yYxMwdDHhms.-_", c) {
					return fmt.Errorf("unsupported character %q in date format %s (valid: y Y x M w d D H h m s . - _)", c, s[i:i+end+1])
				}
			}
			static.WriteByte('0') // a date is digits
			i += end + 1
			continue
		}
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			return errors.New("must be lower case")
		case strings.IndexByte("\\/*?\"<>|,#: ", c) >= 0:
			return fmt.Errorf("must not contain %q", c)
		}
		static.WriteByte(c)
		i++
	}
	name := static.String()
	switch {
	case name == "." || name == "..":
		return errors.New(`must not be "." or ".."`)
	case strings.IndexByte("-_+", name[0]) >= 0:
		return fmt.Errorf("must not start with %q", name[0])
	}
	return nil
}

// checkFieldName checks a document field name for rule captures: dotted
// segments, not empty, not starting with _, and not inside a field the
// document already has.
func checkFieldName(s string) error {
	if s == "" {
		return nil // off
	}
	for seg := range strings.SplitSeq(s, ".") {
		if seg == "" {
			return errors.New("must not have empty parts between dots")
		}
	}
	if s[0] == '_' {
		return errors.New("must not start with _ (reserved for Elasticsearch metadata)")
	}
	first, _, _ := strings.Cut(s, ".")
	if slices.Contains(reservedDocKeys(), first) {
		return fmt.Errorf("%q is a field of every document (%s)", first, strings.Join(reservedDocKeys(), ", "))
	}
	return nil
}
