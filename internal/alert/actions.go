package alert

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	amlabels "github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/argus-obs/argus/internal/store/colstore"
)

// ActionsConfig declares automated responses to alerts: the config's
// actions section.
//
//	actions:
//	  allowed_commands: [/usr/local/bin/restart-worker]
//	  definitions:
//	    - name: reset-inventory
//	      match: ['alertname="InventoryErrors"']
//	      http:
//	        method: POST
//	        url: http://127.0.0.1:8081/admin/reset
//	        body: '{"reason": "{{ .AlertName }} on {{ .Labels.instance }}"}'
//	      cooldown: 5m
//	      max_runs_per_hour: 6
//	      timeout: 10s
type ActionsConfig struct {
	// AllowedCommands are the only programs a command action may run,
	// by absolute path. A command action naming any other is refused at
	// load.
	AllowedCommands []string `yaml:"allowed_commands"`
	Definitions     []Action `yaml:"definitions"`
}

// Action is one automated response.
type Action struct {
	Name string `yaml:"name"`
	// Match are Alertmanager matchers (`severity="page"`,
	// `alertname=~"Inventory.*"`); an alert must satisfy all of them.
	Match []string `yaml:"match"`
	// Exactly one of HTTP and Command.
	HTTP    *HTTPAction    `yaml:"http"`
	Command *CommandAction `yaml:"command"`
	// Cooldown is the least time between two runs for one alert.
	Cooldown model.Duration `yaml:"cooldown"`
	// MaxRunsPerHour caps the runs of the action over all alerts; zero
	// means 10.
	MaxRunsPerHour int `yaml:"max_runs_per_hour"`
	// Timeout bounds one attempt; zero means 10s.
	Timeout model.Duration `yaml:"timeout"`
	// Retries are further attempts after a failed one (a 5xx, a refused
	// connection, a non-zero exit), a second apart and doubling.
	Retries int `yaml:"retries"`
	// DryRun records what would run without running it.
	DryRun bool `yaml:"dry_run"`
	// RequireAck waits for the alert to be acknowledged before running.
	RequireAck bool `yaml:"require_ack"`
}

// HTTPAction is a request; URL, header values and body are templates.
type HTTPAction struct {
	Method  string            `yaml:"method"`
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
}

// CommandAction runs a program with templated arguments, without a shell.
type CommandAction struct {
	Path string   `yaml:"path"`
	Args []string `yaml:"args"`
}

// compiledAction is an Action ready to run.
type compiledAction struct {
	Action
	matchers []*amlabels.Matcher
	url      *template.Template
	headers  map[string]*template.Template
	body     *template.Template
	args     []*template.Template
}

// Validate checks the section and returns every problem.
func (c *ActionsConfig) Validate() []error {
	_, errs := c.compile()
	return errs
}

func (c *ActionsConfig) compile() ([]*compiledAction, []error) {
	var errs []error
	fail := func(i int, name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("actions.definitions[%d] %q: %s", i, name, fmt.Sprintf(format, args...)))
	}
	for _, p := range c.AllowedCommands {
		if !filepath.IsAbs(p) {
			errs = append(errs, fmt.Errorf("actions.allowed_commands: %q is not an absolute path", p))
		}
	}
	names := map[string]bool{}
	var out []*compiledAction
	for i, a := range c.Definitions {
		ca := &compiledAction{Action: a, headers: map[string]*template.Template{}}
		switch {
		case a.Name == "":
			fail(i, a.Name, "name is required")
		case names[a.Name]:
			fail(i, a.Name, "name used twice")
		}
		names[a.Name] = true
		if len(a.Match) == 0 {
			fail(i, a.Name, "match is required (an action for every alert is rarely meant)")
		}
		for _, m := range a.Match {
			ms, err := amlabels.ParseMatchers(m)
			if err != nil {
				fail(i, a.Name, "match %q: %v", m, err)
			}
			ca.matchers = append(ca.matchers, ms...)
		}
		parse := func(what, text string) *template.Template {
			t, err := template.New(what).Option("missingkey=zero").Parse(text)
			if err != nil {
				fail(i, a.Name, "%s: %v", what, err)
			}
			return t
		}
		switch {
		case (a.HTTP == nil) == (a.Command == nil):
			fail(i, a.Name, "exactly one of http and command is required")
		case a.HTTP != nil:
			if a.HTTP.Method == "" {
				ca.HTTP = &HTTPAction{Method: http.MethodPost, URL: a.HTTP.URL, Headers: a.HTTP.Headers, Body: a.HTTP.Body}
			}
			if u, err := url.Parse(a.HTTP.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				if !strings.Contains(a.HTTP.URL, "{{") {
					fail(i, a.Name, "http.url %q: want an http or https URL", a.HTTP.URL)
				}
			}
			ca.url = parse("http.url", a.HTTP.URL)
			for k, v := range a.HTTP.Headers {
				ca.headers[k] = parse("http.headers."+k, v)
			}
			ca.body = parse("http.body", a.HTTP.Body)
		case a.Command != nil:
			if !slices.Contains(c.AllowedCommands, a.Command.Path) {
				fail(i, a.Name, "command %q is not in actions.allowed_commands", a.Command.Path)
			}
			for j, arg := range a.Command.Args {
				ca.args = append(ca.args, parse(fmt.Sprintf("command.args[%d]", j), arg))
			}
		}
		if a.MaxRunsPerHour < 0 || a.Retries < 0 || a.Retries > 10 {
			fail(i, a.Name, "max_runs_per_hour must not be negative, retries 0 to 10")
		}
		out = append(out, ca)
	}
	return out, errs
}

func (a *compiledAction) matches(ls map[string]string) bool {
	for _, m := range a.matchers {
		if !m.Matches(ls[m.Name]) {
			return false
		}
	}
	return true
}

// Run is one entry of the actions audit log.
type Run struct {
	Time        time.Time         `json:"time"`
	Action      string            `json:"action"`
	AlertName   string            `json:"alertname"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	// Kind is "http" or "command"; Inputs what was (or, in a dry run,
	// would have been) sent: method, url, headers, body, or argv.
	Kind   string         `json:"kind"`
	Inputs map[string]any `json:"inputs"`
	// Result is success, failure, timeout, dry_run, or skipped (with
	// Error saying why: cooldown, rate).
	Result string `json:"result"`
	// Status is the HTTP status or the exit code of the last attempt.
	Status   int    `json:"status"`
	Output   string `json:"output,omitempty"`
	Error    string `json:"error,omitempty"`
	Attempts int    `json:"attempts"`
	// DurationMS covers every attempt and the waits between them.
	DurationMS int64 `json:"durationMs"`
}

// maxOutput bounds the output kept per run.
const maxOutput = 4096

// Actions runs automated responses when alerts fire (or are
// acknowledged), under each action's policy, and keeps an audit log of
// every run in the column store. It is safe for concurrent use.
type Actions struct {
	cs          *colstore.Store
	log         *slog.Logger
	client      *http.Client
	externalURL func() string

	mu      sync.Mutex
	actions []*compiledAction // guarded by mu
	// ran marks the firings an action has run for: action, fingerprint
	// and the firing's start.
	ran      map[string]time.Time   // guarded by mu; value: when
	lastRun  map[string]time.Time   // action+fingerprint → last run; guarded by mu
	runTimes map[string][]time.Time // action → runs in the last hour; guarded by mu
	// awaitingAck are firing alerts waiting for an acknowledgement, by
	// fingerprint.
	awaitingAck map[string]Event // guarded by mu
	wg          sync.WaitGroup
	closed      bool // guarded by mu
}

// NewActions returns the runner over the audit column store, which the
// caller keeps owning.
func NewActions(cs *colstore.Store, externalURL func() string, log *slog.Logger) *Actions {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Actions{
		cs: cs, log: log, externalURL: externalURL,
		client:      &http.Client{},
		ran:         map[string]time.Time{},
		lastRun:     map[string]time.Time{},
		runTimes:    map[string][]time.Time{},
		awaitingAck: map[string]Event{},
	}
}

// Apply puts a validated configuration in force.
func (a *Actions) Apply(cfg ActionsConfig) error {
	actions, errs := cfg.compile()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	a.mu.Lock()
	a.actions = actions
	a.mu.Unlock()
	return nil
}

// OnEvents reacts to alert history events: a firing alert runs the
// actions that match it (those requiring an acknowledgement wait for
// one), an acknowledgement runs the waiting ones. Runs happen in the
// background; this never blocks.
func (a *Actions) OnEvents(events []Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	now := time.Now()
	for _, e := range events {
		switch e.Event {
		case EventFiring:
			for _, act := range a.actions {
				if !act.matches(e.Labels) {
					continue
				}
				if act.RequireAck {
					a.awaitingAck[e.Fingerprint] = e
					continue
				}
				a.startLocked(act, e, now)
			}
		case EventResolved, EventInactive:
			delete(a.awaitingAck, e.Fingerprint)
		case EventAcknowledged:
			firing, ok := a.awaitingAck[e.Fingerprint]
			if !ok {
				continue
			}
			delete(a.awaitingAck, e.Fingerprint)
			for _, act := range a.actions {
				if act.RequireAck && act.matches(firing.Labels) {
					a.startLocked(act, firing, now)
				}
			}
		}
	}
}

// startLocked applies the policy and starts a run; a.mu is held.
func (a *Actions) startLocked(act *compiledAction, e Event, now time.Time) {
	firing := e.Time
	if e.ActiveAt != nil {
		firing = *e.ActiveAt
	}
	once := act.Name + "\xff" + e.Fingerprint + "\xff" + firing.String()
	if _, done := a.ran[once]; done {
		return // once per firing
	}
	if len(a.ran) > 10000 {
		for k, t := range a.ran {
			if now.Sub(t) > 24*time.Hour {
				delete(a.ran, k)
			}
		}
	}
	perAlert := act.Name + "\xff" + e.Fingerprint
	skip := ""
	if last, ok := a.lastRun[perAlert]; ok && now.Sub(last) < time.Duration(act.Cooldown) {
		skip = fmt.Sprintf("cooldown: the last run for this alert was %s ago, cooldown %s", now.Sub(last).Round(time.Second), time.Duration(act.Cooldown))
	}
	recent := slices.DeleteFunc(a.runTimes[act.Name], func(t time.Time) bool { return now.Sub(t) > time.Hour })
	if limit := cmp.Or(act.MaxRunsPerHour, 10); skip == "" && len(recent) >= limit {
		skip = fmt.Sprintf("rate: %d runs in the last hour, max_runs_per_hour %d", len(recent), limit)
	}
	a.runTimes[act.Name] = recent
	run := Run{Time: now.UTC(), Action: act.Name, AlertName: e.AlertName, Fingerprint: e.Fingerprint, Labels: e.Labels}
	if skip != "" {
		run.Result, run.Error = "skipped", skip
		a.wg.Go(func() { a.record(run) })
		return
	}
	a.ran[once] = now
	a.lastRun[perAlert] = now
	a.runTimes[act.Name] = append(recent, now)
	a.wg.Go(func() { a.record(a.execute(act, e, run)) })
}

// templateData is what action templates see.
type templateData struct {
	AlertName, Fingerprint, Status, ExternalURL string
	Labels, Annotations                         map[string]string
	Value                                       float64
}

func (a *Actions) execute(act *compiledAction, e Event, run Run) Run {
	data := templateData{AlertName: e.AlertName, Fingerprint: e.Fingerprint, Status: e.Event,
		ExternalURL: a.externalURL(), Labels: e.Labels, Annotations: e.Annotations}
	if e.Value != nil {
		data.Value = *e.Value
	}
	render := func(t *template.Template) (string, error) {
		var b strings.Builder
		err := t.Execute(&b, data)
		return b.String(), err
	}
	var attempt func(ctx context.Context) (status int, output string, err error)
	run.Inputs = map[string]any{}
	var renderErr error
	if act.HTTP != nil {
		run.Kind = "http"
		u, err1 := render(act.url)
		body, err2 := render(act.body)
		headers := map[string]string{}
		for k, t := range act.headers {
			v, err := render(t)
			renderErr = cmp.Or(renderErr, err)
			headers[k] = v
		}
		renderErr = cmp.Or(renderErr, err1, err2)
		run.Inputs["method"], run.Inputs["url"], run.Inputs["headers"], run.Inputs["body"] = act.HTTP.Method, u, headers, body
		attempt = func(ctx context.Context) (int, string, error) {
			req, err := http.NewRequestWithContext(ctx, act.HTTP.Method, u, strings.NewReader(body))
			if err != nil {
				return 0, "", err
			}
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			resp, err := a.client.Do(req)
			if err != nil {
				return 0, "", err
			}
			defer resp.Body.Close()
			out, _ := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
			if resp.StatusCode/100 != 2 {
				return resp.StatusCode, string(out), fmt.Errorf("HTTP %d", resp.StatusCode)
			}
			return resp.StatusCode, string(out), nil
		}
	} else {
		run.Kind = "command"
		argv := []string{act.Command.Path}
		for _, t := range act.args {
			v, err := render(t)
			renderErr = cmp.Or(renderErr, err)
			argv = append(argv, v)
		}
		run.Inputs["argv"] = argv
		attempt = func(ctx context.Context) (int, string, error) {
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...) // no shell
			// A child that keeps the output open past the timeout must
			// not hold the run.
			cmd.WaitDelay = time.Second
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &limitedWriter{&out, maxOutput}, &limitedWriter{&out, maxOutput}
			err := cmd.Run()
			code := 0
			if exit, ok := err.(*exec.ExitError); ok {
				code = exit.ExitCode()
			}
			return code, out.String(), err
		}
	}
	start := time.Now()
	defer func() { run.DurationMS = time.Since(start).Milliseconds() }()
	if renderErr != nil {
		run.Result, run.Error = "failure", "template: "+renderErr.Error()
		return run
	}
	if act.DryRun {
		run.Result = "dry_run"
		return run
	}
	timeout := cmp.Or(time.Duration(act.Timeout), 10*time.Second)
	backoff := time.Second
	for {
		run.Attempts++
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		status, out, err := attempt(ctx)
		timedOut := ctx.Err() != nil
		cancel()
		run.Status, run.Output = status, out
		if err == nil {
			run.Result, run.Error = "success", ""
			return run
		}
		run.Result, run.Error = "failure", err.Error()
		if timedOut {
			run.Result, run.Error = "timeout", fmt.Sprintf("no answer within %s", timeout)
		}
		if run.Attempts > act.Retries {
			return run
		}
		time.Sleep(backoff)
		backoff *= 2
	}
}

// limitedWriter keeps at most n bytes in total.
type limitedWriter struct {
	b *bytes.Buffer
	n int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if room := w.n - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Columns of an audit row; its stream is the action name.
const (
	colRun        = "run" // the Run as JSON
	colRunAlert   = "alertname"
	colRunFP      = "fingerprint"
	colRunOutcome = "result"
)

func (a *Actions) record(run Run) {
	if run.Result != "success" && run.Result != "dry_run" {
		a.log.Warn("action did not run successfully", "action", run.Action, "alertname", run.AlertName, "result", run.Result, "error", run.Error)
	} else {
		a.log.Info("action ran", "action", run.Action, "alertname", run.AlertName, "result", run.Result, "status", run.Status)
	}
	b, _ := json.Marshal(run)
	var fields []colstore.Field
	fields = append(fields, colstore.Field{Name: colRun, Type: colstore.TypeBytes, Bytes: b})
	fields = colstore.AppendString(fields, colRunAlert, run.AlertName)
	fields = colstore.AppendString(fields, colRunFP, run.Fingerprint)
	fields = colstore.AppendString(fields, colRunOutcome, run.Result)
	row := colstore.Row{Stream: []colstore.Label{{Name: "action", Value: run.Action}}, Time: run.Time.UnixNano(), Fields: fields}
	if err := a.cs.Write(context.Background(), []colstore.Row{row}); err != nil {
		a.log.Error("actions audit: could not record a run", "action", run.Action, "error", err)
	}
}

// RunQuery selects audit entries. Zero fields do not constrain.
type RunQuery struct {
	Start, End  time.Time
	Action      string
	AlertName   string
	Fingerprint string
	Result      string
	Limit       int // the most recent kept; zero means 1000
}

// Runs returns the audit entries q selects, oldest first.
func (a *Actions) Runs(ctx context.Context, q RunQuery) ([]Run, error) {
	cq := colstore.Query{}
	if !q.Start.IsZero() {
		cq.MinTime = q.Start.UnixNano()
	}
	if !q.End.IsZero() {
		cq.MaxTime = q.End.UnixNano()
	}
	if q.Action != "" {
		name := q.Action
		cq.Stream = func(ls []colstore.Label) bool { return len(ls) > 0 && ls[0].Value == name }
	}
	for col, v := range map[string]string{colRunAlert: q.AlertName, colRunFP: q.Fingerprint, colRunOutcome: q.Result} {
		if v != "" {
			cq.Filters = append(cq.Filters, colstore.Filter{Column: col, Type: colstore.TypeString, Op: colstore.OpEqual, Value: []byte(v)})
		}
	}
	var out []Run
	var decodeErr error
	err := a.cs.Search(ctx, cq, func(r *colstore.Row) bool {
		if f := r.Field(colRun); f != nil {
			var run Run
			if err := json.Unmarshal(f.Bytes, &run); err != nil {
				decodeErr = fmt.Errorf("actions audit: %w", err)
				return false
			}
			out = append(out, run)
		}
		return true
	})
	if err = cmp.Or(err, decodeErr); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(x, y Run) int { return x.Time.Compare(y.Time) })
	if limit := cmp.Or(q.Limit, 1000); len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// Shutdown waits for the runs in progress (each bounded by its timeout
// and retries). It is idempotent.
func (a *Actions) Shutdown() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.wg.Wait()
}
