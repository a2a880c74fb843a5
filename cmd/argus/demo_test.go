package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/config"
)

// TestWriteDemoConfig checks that the demo's policy file adds the shop's
// scrape jobs to the user's file, keeping its jobs and limits, and that
// Argus's config loader accepts the result.
func TestWriteDemoConfig(t *testing.T) {
	dir := t.TempDir()
	for _, user := range []string{"", "global:\n  scrape_interval: 30s\nscrape_configs:\n  - job_name: mine\n    static_configs: [{targets: [\"127.0.0.1:9\"]}]\nlimits:\n  max_request_bytes: 1MiB\n", "limits:\n  max_log_attributes: 10\n"} {
		userPath := ""
		if user != "" {
			userPath = filepath.Join(dir, "user.yml")
			if err := os.WriteFile(userPath, []byte(user), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		path, err := writeDemoConfig(dir, userPath, 2*time.Second, "127.0.0.1:1001", "127.0.0.1:1002", "http://127.0.0.1:1003/notify")
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		prom, err := cfg.Prometheus("127.0.0.1:7070")
		if err != nil {
			t.Fatal(err)
		}
		var jobs []string
		for _, sc := range prom.ScrapeConfigs {
			jobs = append(jobs, sc.JobName)
		}
		want := "frontend,inventory,argus"
		if strings.Contains(user, "mine") {
			want = "mine," + want
			if cfg.Limits.MaxRequestBytes != 1<<20 {
				t.Errorf("limits lost: %+v", cfg.Limits)
			}
		}
		if got := strings.Join(jobs, ","); got != want {
			t.Errorf("user config %q: jobs %s, want %s", user, got, want)
		}
		// The demo's alert loop: its rule file, the webhook receiver and
		// the action that resets the inventory.
		if files := cfg.RuleFilePaths(); len(files) != 1 || filepath.Base(files[0]) != "demo-rules.yml" {
			t.Errorf("rule files: %v", files)
		}
		if n := cfg.NotificationConfig(); len(n.Receivers) != 1 || string(n.Receivers[0].WebhookConfigs[0].URL) != "http://127.0.0.1:1003/notify" {
			t.Errorf("notifications: %+v", n.Receivers)
		}
		if d := cfg.Actions.Definitions; len(d) != 1 || d[0].HTTP.URL != "http://127.0.0.1:1002/admin/reset" {
			t.Errorf("actions: %+v", d)
		}
	}
	if _, err := writeDemoConfig(dir, filepath.Join(dir, "missing.yml"), time.Second, "a:1", "b:2", "http://c:3"); err == nil {
		t.Error("a missing --config file: no error")
	}
}
