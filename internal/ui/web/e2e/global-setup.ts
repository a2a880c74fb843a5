// Starts `argus demo` on free ports (unless ARGUS_URL names a running one),
// waits until the demo's traffic has produced traces, logs and span metrics,
// and hands its address to the tests in ARGUS_URL. The returned function
// stops it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function promValue(base: string, query: string): Promise<number> {
  const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const j = (await r.json()) as { data: { result: { value: [number, string] }[] } };
  return j.data.result.length ? parseFloat(j.data.result[0].value[1]) : 0;
}

/** ratePoints counts the points of query over the last five minutes at a 10 s step, as the charts ask. */
async function ratePoints(base: string, query: string): Promise<number> {
  const end = Math.floor(Date.now() / 1000);
  const r = await fetch(`${base}/api/v1/query_range?query=${encodeURIComponent(query)}&start=${end - 300}&end=${end}&step=10`);
  const j = (await r.json()) as { data: { result: { values: unknown[] }[] } };
  return j.data.result[0]?.values.length ?? 0;
}

export default async function globalSetup(): Promise<() => void> {
  let stop = () => {};
  if (!process.env.ARGUS_URL) {
    const bin = resolve(process.env.ARGUS_BIN ?? '../../../bin/argus');
    const dataDir = mkdtempSync(join(tmpdir(), 'argus-ui-e2e-'));
    const proc = spawn(
      bin,
      ['demo', `--data.dir=${dataDir}`, '--http.addr=127.0.0.1:0', '--otlp.grpc.addr=127.0.0.1:0', '--otlp.http.addr=127.0.0.1:0',
        '--log.format=json', '--demo.rate=10', '--demo.scrape.interval=2s', '--demo.chaos.interval=40s', '--demo.chaos.duration=30s'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const addr = await new Promise<string>((res, rej) => {
      let buf = '';
      const timer = setTimeout(() => rej(new Error(`argus demo not ready after 60s:\n${buf}`)), 60_000);
      proc.on('exit', (code) => rej(new Error(`argus demo exited with ${code}:\n${buf}`)));
      proc.stderr!.on('data', (d: Buffer) => {
        buf += d.toString();
        for (const line of buf.split('\n')) {
          try {
            const rec = JSON.parse(line);
            if (rec.msg === 'argus is ready') {
              clearTimeout(timer);
              res(rec.http);
            }
          } catch {
            /* not a whole JSON line yet */
          }
        }
        if (buf.length > 1 << 20) buf = buf.slice(-(1 << 16));
      });
    });
    process.env.ARGUS_URL = `http://${addr}`;
    stop = () => {
      proc.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  const base = process.env.ARGUS_URL;
  // The pages need a little history: services, span metrics with rates, and
  // the service graph.
  await waitFor('both demo services to send spans', 60_000, async () => {
    const r = (await (await fetch(`${base}/jaeger/api/services`)).json()) as { data: string[] };
    return r.data.includes('frontend') && r.data.includes('inventory');
  });
  await waitFor('span metrics and service graph rates', 90_000, async () => {
    const calls = await ratePoints(base, 'sum(rate(traces_span_metrics_calls_total[1m]))');
    const edges = await promValue(base, 'sum(rate(traces_service_graph_request_total{client="frontend"}[1m]))');
    const exemplars = await fetch(`${base}/api/v1/query_exemplars?query=traces_span_metrics_duration_seconds&start=${Date.now() / 1000 - 300}&end=${Date.now() / 1000}`);
    const ex = (await exemplars.json()) as { data: unknown[] };
    return calls >= 3 && edges > 0 && ex.data.length > 0;
  });
  return stop;
}
