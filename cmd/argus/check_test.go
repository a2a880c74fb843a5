package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfigDashboards checks a config's dashboard files as it checks
// its rule files: every problem with its file and line, and what a
// Grafana conversion leaves out as a warning.
func TestCheckConfigDashboards(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("good.yml", "title: Good\npanels:\n  - expr: up\n")
	write("grafana.json", `{"title": "G", "schemaVersion": 39, "panels": [{"type": "text", "title": "Note"}]}`)
	cfg := write("argus.yml", "dashboard_files: [good.yml, grafana.json]\n")
	var out, errOut strings.Builder
	if code := check([]string{"config", cfg}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"SUCCESS: valid, with 0 rule files and 2 dashboards", `WARNING: grafana.json: panel "Note": panel type "text" is not supported; left out`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	write("bad.yml", "title: Bad\npanels:\n  - title: Latency\n    type: graph\n    expr: rate(x[5m]\n")
	cfg = write("argus.yml", "dashboard_files: [\"*.yml\"]\n")
	out.Reset()
	if code := check([]string{"config", cfg}, &out, &errOut); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"FAILED",
		`dashboard_files: bad.yml:4: panel "Latency": type "graph"`,
		`dashboard_files: bad.yml:5: panel "Latency": expr: 1:11: parse error: unclosed left parenthesis`,
		// The config itself matches *.yml: not a dashboard.
		"dashboard_files: argus.yml:1: dashboard: unknown key \"dashboard_files\"",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
