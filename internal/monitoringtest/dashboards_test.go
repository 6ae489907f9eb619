package monitoringtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// datasourceVar is how every panel, target and query variable refers to
// the Prometheus data source: through the dashboard's datasource variable,
// never by the uid of a particular Grafana's data source.
const datasourceVar = "${datasource}"

// The Grafana query variable functions whose argument is PromQL.
var (
	labelValuesQuery = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)
	queryResultQuery = regexp.MustCompile(`^\s*query_result\((.*)\)\s*$`)
)

func TestDashboards(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(root, "examples", "dashboards", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no dashboards in examples/dashboards")
	}
	known := exposition(t)
	uids := map[string]string{}
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var d map[string]any
			if err := json.Unmarshal(data, &d); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			uid, _ := d["uid"].(string)
			if uid == "" {
				t.Error("the dashboard has no uid")
			} else if other, ok := uids[uid]; ok {
				t.Errorf("uid %q is also the uid of %s", uid, other)
			}
			uids[uid] = name
			if title, _ := d["title"].(string); title == "" {
				t.Error("the dashboard has no title")
			}
			if v, _ := d["schemaVersion"].(float64); v < 39 {
				t.Errorf("schemaVersion is %v, want 39 or later", d["schemaVersion"])
			}
			checkDatasourceRefs(t, d)
			checkVariables(t, known, d)
			ids := map[float64]bool{}
			panels, _ := d["panels"].([]any)
			if len(panels) == 0 {
				t.Error("the dashboard has no panels")
			}
			checkPanels(t, known, panels, ids, "")
		})
	}
}

// checkDatasourceRefs walks the whole dashboard: below its top level, every
// "uid" is the datasource variable and every "datasource" is a Prometheus
// reference to it.
func checkDatasourceRefs(t *testing.T, d map[string]any) {
	t.Helper()
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				p := path + "." + k
				switch k {
				case "uid":
					if x != datasourceVar {
						t.Errorf("%s is %v: only the dashboard's own uid may be fixed, others must be %s", p, x, datasourceVar)
					}
				case "datasource":
					ref, ok := x.(map[string]any)
					if !ok || ref["type"] != "prometheus" || ref["uid"] != datasourceVar {
						t.Errorf("%s is %v, want {\"type\": \"prometheus\", \"uid\": %q}", p, x, datasourceVar)
					}
				}
				walk(x, p)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	for k, v := range d {
		if k != "uid" {
			walk(v, k)
		}
	}
}

// checkVariables wants a Prometheus datasource variable and checks the
// metrics that query variables use.
func checkVariables(t *testing.T, known map[string]bool, d map[string]any) {
	t.Helper()
	templating, _ := d["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	found := false
	for _, v := range list {
		v, _ := v.(map[string]any)
		name, _ := v["name"].(string)
		switch v["type"] {
		case "datasource":
			if name == "datasource" {
				found = true
				if v["query"] != "prometheus" {
					t.Errorf("variable datasource: query is %v, want prometheus", v["query"])
				}
				if cur, _ := v["current"].(map[string]any); cur["value"] != nil {
					t.Errorf("variable datasource: current names a data source of a particular Grafana (%v)", cur["value"])
				}
			}
		case "query":
			q := v["query"]
			if m, ok := q.(map[string]any); ok {
				q = m["query"]
			}
			query, _ := q.(string)
			where := "variable " + name
			if m := labelValuesQuery.FindStringSubmatch(query); m != nil {
				checkExpr(t, known, where, m[1])
			} else if m := queryResultQuery.FindStringSubmatch(query); m != nil {
				checkExpr(t, known, where, m[1])
			} else {
				t.Errorf("%s: query %q is neither label_values(selector, label) nor query_result(expr)", where, query)
			}
		}
	}
	if !found {
		t.Error(`no variable "datasource" of type datasource`)
	}
}

// checkPanels checks panels and, inside rows, their nested panels.
func checkPanels(t *testing.T, known map[string]bool, panels []any, ids map[float64]bool, in string) {
	t.Helper()
	for i, p := range panels {
		p, ok := p.(map[string]any)
		if !ok {
			t.Errorf("%spanel %d is not an object", in, i)
			continue
		}
		title, _ := p["title"].(string)
		typ, _ := p["type"].(string)
		where := fmt.Sprintf("%spanel %q", in, title)
		id, _ := p["id"].(float64)
		if id == 0 || ids[id] {
			t.Errorf("%s: id %v is missing or not unique", where, p["id"])
		}
		ids[id] = true
		if _, ok := p["gridPos"].(map[string]any); !ok {
			t.Errorf("%s: no gridPos", where)
		}
		if typ == "row" {
			nested, _ := p["panels"].([]any)
			checkPanels(t, known, nested, ids, fmt.Sprintf("row %q: ", title))
			continue
		}
		if title == "" {
			t.Errorf("%s: no title", where)
		}
		if ds, _ := p["datasource"].(map[string]any); ds["uid"] != datasourceVar {
			t.Errorf("%s: datasource is %v, want uid %s", where, p["datasource"], datasourceVar)
		}
		switch typ {
		case "timeseries", "stat":
			fc, _ := p["fieldConfig"].(map[string]any)
			defaults, _ := fc["defaults"].(map[string]any)
			if unit, _ := defaults["unit"].(string); unit == "" {
				t.Errorf("%s: no unit", where)
			}
		default:
			t.Errorf("%s: type %q; the example dashboards use timeseries and stat panels", where, typ)
		}
		targets, _ := p["targets"].([]any)
		if len(targets) == 0 {
			t.Errorf("%s: no targets", where)
		}
		refIDs := map[string]bool{}
		for _, tg := range targets {
			tg, _ := tg.(map[string]any)
			ref, _ := tg["refId"].(string)
			if ref == "" || refIDs[ref] {
				t.Errorf("%s: refId %q is missing or not unique", where, ref)
			}
			refIDs[ref] = true
			if ds, _ := tg["datasource"].(map[string]any); ds["uid"] != datasourceVar {
				t.Errorf("%s, target %s: datasource is %v, want uid %s", where, ref, tg["datasource"], datasourceVar)
			}
			expr, _ := tg["expr"].(string)
			checkExpr(t, known, fmt.Sprintf("%s, target %s", where, ref), expr)
		}
	}
}
