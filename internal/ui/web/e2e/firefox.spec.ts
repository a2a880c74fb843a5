// The UI in Firefox. Playwright drives only its own patched Firefox build,
// which cannot be downloaded everywhere, so this test drives Debian's
// firefox-esr directly over WebDriver BiDi, the W3C protocol Firefox
// speaks: it opens the main pages and checks that they draw their data
// and log no error.
import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { base, hex } from './support';

/** A WebDriver BiDi session with one browsing context. */
class BiDi {
  private next = 1;
  private pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  readonly errors: string[] = [];
  context = '';

  private constructor(private ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id)!;
        this.pending.delete(msg.id);
        if (msg.type === 'error') p.reject(new Error(`${msg.error}: ${msg.message}`));
        else p.resolve(msg.result);
      } else if (msg.method === 'log.entryAdded' && msg.params.level === 'error') {
        this.errors.push(msg.params.text);
      }
    });
  }

  static async connect(url: string): Promise<BiDi> {
    const ws = new WebSocket(url);
    await new Promise((res, rej) => (ws.once('open', res), ws.once('error', rej)));
    const b = new BiDi(ws);
    await b.send('session.new', { capabilities: {} });
    await b.send('session.subscribe', { events: ['log.entryAdded'] });
    const tree = await b.send('browsingContext.getTree', {});
    b.context = tree.contexts[0].context;
    await b.send('browsingContext.setViewport', { context: b.context, viewport: { width: 1280, height: 800 } });
    return b;
  }

  send(method: string, params: object): Promise<any> {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  async goto(url: string): Promise<void> {
    await this.send('browsingContext.navigate', { context: this.context, url, wait: 'complete' });
  }

  /** count evaluates document.querySelectorAll(selector).length in the page. */
  async count(selector: string): Promise<number> {
    const r = await this.send('script.evaluate', {
      expression: `document.querySelectorAll(${JSON.stringify(selector)}).length`,
      target: { context: this.context },
      awaitPromise: false,
    });
    return r.result.value;
  }

  close(): void {
    this.ws.close();
  }
}

let firefox: ChildProcess;
let profile: string;
let bidi: BiDi;

test.beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), 'argus-firefox-'));
  // No update checks, telemetry or remote settings: the network is closed.
  writeFileSync(
    join(profile, 'user.js'),
    ['app.update.enabled', 'app.normandy.enabled', 'toolkit.telemetry.enabled', 'datareporting.policy.dataSubmissionEnabled', 'network.connectivity-service.enabled', 'browser.safebrowsing.malware.enabled', 'browser.safebrowsing.phishing.enabled']
      .map((p) => `user_pref("${p}", false);\n`)
      .join('') + 'user_pref("services.settings.server", "http://127.0.0.1:9/");\n',
  );
  firefox = spawn(process.env.FIREFOX ?? '/usr/bin/firefox-esr', ['--headless', '--no-remote', '--profile', profile, '--remote-debugging-port=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((res, rej) => {
    let buf = '';
    const timer = setTimeout(() => rej(new Error(`Firefox did not start its WebDriver BiDi server:\n${buf}`)), 30_000);
    firefox.on('exit', (code) => rej(new Error(`Firefox exited with ${code}:\n${buf}`)));
    firefox.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(buf);
      if (m) (clearTimeout(timer), res(`${m[1]}/session`));
    });
  });
  bidi = await BiDi.connect(url);
});

test.afterAll(() => {
  bidi?.close();
  firefox?.kill();
  rmSync(profile, { recursive: true, force: true });
});

test('the main pages draw in Firefox', async () => {
  const wait = (selector: string, min = 1) => expect.poll(() => bidi.count(selector), { timeout: 20_000, message: selector }).toBeGreaterThanOrEqual(min);

  await bidi.goto(`${base()}/services?from=now-15m`);
  await wait('[data-testid=service-row]', 2);
  await wait('.sparkline canvas', 2);

  await bidi.goto(`${base()}/map?from=now-15m`);
  await wait('[data-testid=map-edge]');

  await bidi.goto(`${base()}/traces?from=now-15m&service=frontend`);
  await wait('[data-testid=trace-row]');

  // The newest trace may still wait for some of its spans: take the largest of the recent ones.
  const found = (await (await fetch(`${base()}/jaeger/api/traces?service=frontend&operation=${encodeURIComponent('POST /orders')}&limit=20`)).json()) as {
    data: { traceID: string; spans: unknown[] }[];
  };
  const largest = found.data.reduce((a, b) => (b.spans.length > a.spans.length ? b : a));
  await bidi.goto(`${base()}/traces/${largest.traceID}`);
  await wait('[data-testid=span-row]', 2);

  await bidi.goto(`${base()}/logs?from=now-15m&query=${encodeURIComponent('{service_name="inventory"}')}`);
  await wait('[data-testid=log-line]');
  await wait('[data-testid=log-volume] canvas');

  await bidi.goto(`${base()}/query?from=now-15m&query=${encodeURIComponent('sum by (service_name) (rate(traces_span_metrics_calls_total[1m]))')}`);
  await wait('[data-testid=metrics-chart] canvas');

  await bidi.goto(`${base()}/dashboards/service/frontend?from=now-15m`);
  await wait('[data-testid=dashboard-panel] canvas', 3);

  await bidi.goto(`${base()}/traces/${hex(16)}`);
  await wait('[role=alert]');

  expect(bidi.errors).toEqual([]);
});
