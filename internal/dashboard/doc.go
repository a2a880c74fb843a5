// Package dashboard holds Argus's dashboards: the model the API serves
// and the web UI draws, the dashboards defined in files, the built-in
// ones, and the conversion of Grafana's dashboards.
//
// # The model
//
// A Dashboard is a title, a default time range, template variables and
// panels on Grafana's 24-column grid; each panel (timeseries, stat,
// table, heatmap, logs) has targets, each a PromQL or LogQL expression
// with its source. Expressions refer to variables as Grafana's do ($job,
// ${job:regex}, [[job]]) and may use Grafana's built-ins
// ($__rate_interval, $__interval, $__range). The JSON form of Dashboard
// is the contract with the UI.
//
// # Where dashboards come from
//
//   - Built-in, generated on request: "argus" (Argus's own ingest, API,
//     storage and Go runtime, from its self-scrape job) and, for every
//     service that sent spans, "service/<name>" (requests, errors and
//     latency from the span metrics, the Go runtime of the job named
//     after the service, its logs).
//   - Files, named by the config's dashboard_files: this model in YAML or
//     JSON (see Parse for the short form), or a Grafana dashboard's JSON,
//     converted on load. Their ids are "file/<name>", the name being the
//     file's unless the file gives an id.
//   - Imports: FromGrafana converts a Grafana dashboard sent to the API
//     and says, in Warnings, what it could not carry over.
//
// # Validation
//
// Files are checked when the config is loaded and on every reload, and
// every problem is reported at once with the file and line: unknown keys,
// unknown panel or variable types, bad sources, empty or unparsable
// expressions (PromQL by Prometheus's parser, LogQL by Argus's, with
// variables replaced by placeholders), log queries outside logs panels,
// references to undefined variables, panels without targets, duplicate
// ids across files. A Grafana dashboard is taken as it is: what does not
// parse there becomes a warning, not an error.
//
// A Catalog holds the loaded file dashboards, swapped whole on reload,
// and answers the API's listing and lookups with the built-ins added.
package dashboard
