package monitoringtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

var (
	alertRules = filepath.Join("examples", "alerts", "logmeter.rules.yml")
	alertTests = filepath.Join("examples", "alerts", "logmeter.rules.test.yml")
)

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTestFile struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestAlertRules checks what promtool does not: the metrics the rules use
// exist, every alert is labelled and described, and the unit tests see
// every alert both firing and not firing.
func TestAlertRules(t *testing.T) {
	known := exposition(t)
	var rf ruleFile
	readYAML(t, alertRules, &rf)
	alerts := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			name := r.Alert
			if name == "" {
				name = r.Record
			}
			checkExpr(t, known, "rule "+name, r.Expr)
			if r.Alert == "" {
				continue
			}
			if alerts[r.Alert] {
				t.Errorf("alert %s is defined twice", r.Alert)
			}
			alerts[r.Alert] = true
			switch r.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("alert %s: severity label %q, want critical, warning or info", r.Alert, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description"} {
				if r.Annotations[a] == "" {
					t.Errorf("alert %s has no %s annotation", r.Alert, a)
				}
			}
		}
	}
	if len(alerts) == 0 {
		t.Fatalf("%s defines no alert", alertRules)
	}

	var tf ruleTestFile
	readYAML(t, alertTests, &tf)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, at := range tc.AlertRuleTest {
			if !alerts[at.Alertname] {
				t.Errorf("%s tests alert %s, which %s does not define", alertTests, at.Alertname, alertRules)
			}
			if len(at.ExpAlerts) > 0 {
				fires[at.Alertname] = true
			} else {
				quiet[at.Alertname] = true
			}
		}
	}
	for _, a := range sortedKeys(alerts) {
		if !fires[a] {
			t.Errorf("%s has no case where %s fires", alertTests, a)
		}
		if !quiet[a] {
			t.Errorf("%s has no case where %s stays quiet", alertTests, a)
		}
	}
}

// TestPromtool validates the rules and runs their unit tests with promtool
// (Debian package prometheus).
func TestPromtool(t *testing.T) {
	if testing.Short() {
		t.Skip("runs promtool")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not on PATH: install the Debian package prometheus (apt-get install prometheus), which provides it")
	}
	for _, args := range [][]string{
		{"check", "rules", alertRules},
		{"test", "rules", alertTests},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		} else {
			t.Logf("promtool %v:\n%s", args, out)
		}
	}
}
