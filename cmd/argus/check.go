package main

import (
	"fmt"
	"io"

	"github.com/argus-obs/argus/internal/alert"
	"github.com/argus-obs/argus/internal/config"
)

// check validates files offline, as promtool check does:
//
//	argus check rules FILE...    Prometheus rule files
//	argus check config FILE      an Argus config, and the rule and dashboard files it names
//
// It prints what it found for each file and exits 1 if any has a problem.
// What a Grafana dashboard's conversion leaves out is printed as warnings,
// which do not fail the check.
func check(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || (args[0] != "rules" && args[0] != "config") {
		fmt.Fprint(stderr, "usage: argus check rules FILE...\n       argus check config FILE\n")
		return 2
	}
	failed := false
	for _, file := range args[1:] {
		fmt.Fprintf(stdout, "Checking %s\n", file)
		var errs []error
		var summary string
		var warnings []string
		switch args[0] {
		case "rules":
			var groups, rules int
			groups, rules, errs = alert.CountRules(file)
			summary = fmt.Sprintf("%d rules found in %d groups", rules, groups)
		case "config":
			cfg, err := config.LoadFile(file)
			if err != nil {
				errs = []error{err}
			} else {
				summary = fmt.Sprintf("valid, with %d rule files and %d dashboards", len(cfg.RuleFilePaths()), len(cfg.Dashboards()))
				for _, d := range cfg.Dashboards() {
					for _, w := range d.Warnings {
						warnings = append(warnings, d.Path+": "+w)
					}
				}
			}
		}
		if len(errs) > 0 {
			failed = true
			fmt.Fprintf(stdout, "  FAILED:\n")
			for _, err := range errs {
				fmt.Fprintf(stdout, "  %v\n", err)
			}
			continue
		}
		fmt.Fprintf(stdout, "  SUCCESS: %s\n", summary)
		for _, w := range warnings {
			fmt.Fprintf(stdout, "  WARNING: %s\n", w)
		}
	}
	if failed {
		return 1
	}
	return 0
}
