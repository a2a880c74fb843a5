// Browser tests of the web UI against a running `argus demo`: each page
// with real data, the moves between signals, and the error states.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { base, hex, record, screenshot } from './support';

test.beforeEach(({ page }) => {
  page.on('pageerror', (e) => {
    throw new Error(`uncaught error in the page: ${e.message}`);
  });
});

test('services page lists the demo services with RED numbers', async ({ page }) => {
  const t0 = Date.now();
  await page.goto(`${base()}/services?from=now-15m`);
  await expect(page.getByTestId('service-row').filter({ hasText: 'inventory' })).toBeVisible();
  record('services page first load (navigation to rows shown)', Date.now() - t0, 'ms');
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    return { domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd };
  });
  record('services page DOMContentLoaded', nav.domContentLoaded, 'ms');
  const row = page.getByTestId('service-row').filter({ hasText: 'frontend' });
  await expect(row).toBeVisible();
  await expect(row.locator('td').nth(1)).toHaveText(/\/s$/);
  await expect(row.locator('td').nth(5)).toHaveText(/s$/); // p50 is a latency, not a dash
  await expect(row.locator('.sparkline canvas').first()).toBeVisible();
  await screenshot(page, 'services');

  await row.getByRole('link', { name: 'frontend' }).click();
  await expect(page).toHaveURL(/\/services\/frontend\?from=now-15m/);
  await expect(page.getByTestId('operations').getByText('POST /orders')).toBeVisible();
  await expect(page.getByTestId('service-latency').locator('canvas').first()).toBeVisible();
  await expect(page.getByTestId('log-line').first()).toBeVisible();
  await screenshot(page, 'service');
});

test('service map shows the call from frontend to inventory and leads to traces', async ({ page }) => {
  await page.goto(`${base()}/map?from=now-15m`);
  await expect(page.locator('[data-node="frontend"]')).toBeVisible();
  await expect(page.locator('[data-node="inventory"]')).toBeVisible();
  const edge = page.locator('[data-edge="frontend->inventory"]');
  await expect(edge).toContainText('/s');
  await screenshot(page, 'service-map');
  await edge.locator('text').first().click();
  await expect(page).toHaveURL(/\/traces\?.*service=inventory/);
  await expect(page.getByTestId('trace-row').first()).toBeVisible();
});

test('search a trace, open it, see its spans, details and logs', async ({ page }) => {
  await page.goto(`${base()}/traces?from=now-15m`);
  const form = page.getByTestId('trace-search');
  await form.locator('select[name=service]').selectOption('frontend');
  await form.locator('select[name=operation]').selectOption('POST /orders');
  await form.getByRole('button', { name: 'Find traces' }).click();
  await expect(page).toHaveURL(/service=frontend/);
  await expect(page.getByTestId('trace-row').first()).toContainText('POST /orders');
  // The newest trace may still wait for inventory's spans: take one that crosses both services.
  const first = page.getByTestId('trace-row').filter({ hasText: 'inventory (' }).first();
  await expect(page.getByTestId('trace-results').getByTestId('chart-point').first()).toBeAttached();
  await screenshot(page, 'traces');

  await first.getByRole('link').first().click();
  await expect(page).toHaveURL(/\/traces\/[0-9a-f]{32}/);
  const rows = page.getByTestId('span-row');
  await rows.filter({ hasText: 'inventory' }).first().click();
  await expect(page.getByTestId('span-details')).toContainText('Attributes');
  await expect(page).toHaveURL(/span=[0-9a-f]{16}/);
  await expect(page.getByTestId('trace-logs').getByTestId('log-line').first()).toBeVisible();
  await expect(page.getByTestId('trace-logs').locator('.log-line.highlight').first()).toBeVisible();
  await screenshot(page, 'trace');
});

test('from a log line to its trace and back, and to everything with its correlation ID', async ({ page }) => {
  await page.goto(`${base()}/logs?from=now-15m&query=${encodeURIComponent('{service_name="inventory"} |= "reserved"')}`);
  await expect(page.getByTestId('log-volume').locator('canvas').first()).toBeVisible();
  const line = page.getByTestId('log-results').getByTestId('log-line').first();
  await expect(line).toContainText('reserved');
  await screenshot(page, 'logs');

  await line.getByTestId('log-trace-link').click();
  await expect(page).toHaveURL(/\/traces\/[0-9a-f]{32}/);
  await expect(page.getByTestId('span-row').first()).toBeVisible();
  await page.goBack();
  await expect(page).toHaveURL(/\/logs\?/);
  await expect(line).toContainText('reserved');

  await line.locator('.log-summary').click();
  const corr = line.getByTestId('log-correlation-link');
  const id = (await corr.textContent())!.trim();
  await corr.click();
  await expect(page).toHaveURL(new RegExp(`/correlate/${id}`));
  const summary = page.getByTestId('correlate-summary');
  await expect(summary.getByRole('link', { name: 'frontend' })).toBeVisible();
  await expect(summary.getByRole('link', { name: 'inventory' })).toBeVisible();
  await expect(page.getByTestId('correlate-logs').getByTestId('log-line').first()).toBeVisible();
  await screenshot(page, 'correlate');
});

test('live tail shows new lines as they arrive', async ({ page }) => {
  await page.goto(`${base()}/logs?query=${encodeURIComponent('{service_name="frontend"} |= "order"')}`);
  await page.getByTestId('tail').click();
  const tail = page.getByTestId('log-tail');
  await expect(tail.getByRole('heading')).toContainText('Live tail');
  await expect(tail.getByTestId('log-line').first()).toContainText('order');
  const first = await tail.getByTestId('log-line').count();
  await expect.poll(() => tail.getByTestId('log-line').count(), { timeout: 15_000 }).toBeGreaterThan(first);
  await expect(tail.getByRole('heading')).not.toContainText('disconnected');
  await page.getByTestId('tail').click();
  await expect(page.getByTestId('log-results')).toBeVisible();
});

test('LogQL errors are marked where the parser says', async ({ page }) => {
  await page.goto(`${base()}/logs?query=${encodeURIComponent('{service_name="inventory"} |= ')}`);
  const err = page.getByTestId('query-error');
  await expect(err).toContainText('parse error');
  await expect(page.locator('.query-error-mark')).toBeAttached();
});

test('PromQL with completion, a chart, and an exemplar that opens its trace', async ({ page }) => {
  await page.goto(`${base()}/query?from=now-15m`);
  const box = page.getByTestId('promql').locator('textarea');
  await box.click();
  await box.pressSequentially('traces_span_metrics_dur');
  await expect(page.getByRole('option', { name: 'traces_span_metrics_duration_seconds', exact: true })).toBeVisible();
  await page.getByRole('option', { name: 'traces_span_metrics_duration_seconds', exact: true }).click();
  await expect(box).toHaveValue('traces_span_metrics_duration_seconds');
  await box.pressSequentially('{service_name="inv');
  await expect(page.getByRole('option', { name: 'inventory' })).toBeVisible();
  await box.press('Tab');
  await expect(box).toHaveValue('traces_span_metrics_duration_seconds{service_name="inventory');

  const q = 'histogram_quantile(0.9, sum by (service_name) (rate(traces_span_metrics_duration_seconds[1m])))';
  await box.fill(q);
  await box.press('Enter');
  await expect(page).toHaveURL(/query=histogram_quantile/);
  const chart = page.getByTestId('metrics-chart');
  await expect(chart.locator('canvas').first()).toBeVisible();
  await expect(chart.locator('.u-legend')).toContainText('inventory');
  const points = chart.getByTestId('chart-point');
  await expect(points.first()).toBeAttached();
  await screenshot(page, 'metrics');
  await openExemplar(page, points);
  await expect(page.getByTestId('span-row').first()).toBeVisible();
});

/**
 * openExemplar clicks the last of the exemplar dots and checks that the
 * trace it opens is one the dots named. Exemplars may overlap: whichever
 * the click lands on must open its own trace.
 */
async function openExemplar(page: Page, points: Locator) {
  const keys = await points.evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
  await points.last().click();
  await expect(page).toHaveURL(/\/traces\/[0-9a-f]{32}/);
  const opened = /\/traces\/([0-9a-f]{32})/.exec(page.url())![1];
  expect(keys).toContain(opened);
  await expect(page.getByTestId('trace-meta')).toContainText(opened);
}

test('a histogram as a heatmap', async ({ page }) => {
  const q = 'sum by (le) (rate(traces_span_metrics_duration_seconds_bucket{service_name="inventory"}[1m]))';
  await page.goto(`${base()}/query?from=now-15m&query=${encodeURIComponent(q)}`);
  await page.getByRole('group', { name: 'View' }).getByRole('button', { name: 'Heatmap' }).click();
  await expect(page).toHaveURL(/view=heatmap/);
  await expect(page.getByTestId('metrics-heatmap').getByTestId('heatmap').locator('canvas')).toBeVisible();
  const heatmap = page.getByTestId('metrics-heatmap').getByTestId('heatmap');
  expect(Number(await heatmap.getAttribute('data-buckets'))).toBeGreaterThan(3);
  expect(Number(await heatmap.getAttribute('data-columns'))).toBeGreaterThan(1);
  // The buckets' exemplars are dots in their cells; one opens its trace.
  const points = heatmap.getByTestId('chart-point');
  await expect(points.first()).toBeAttached();
  await screenshot(page, 'metrics-heatmap');
  await openExemplar(page, points);
  await expect(page.getByTestId('span-row').filter({ hasText: 'inventory' }).first()).toBeVisible();

  // A native histogram draws the same way; a plain counter says why it cannot.
  await page.goto(`${base()}/query?from=now-15m&view=heatmap&query=${encodeURIComponent('sum(rate(traces_span_metrics_duration_seconds[1m]))')}`);
  await expect(page.getByTestId('metrics-heatmap').getByTestId('heatmap').locator('canvas')).toBeVisible();
  await page.goto(`${base()}/query?from=now-15m&view=heatmap&query=${encodeURIComponent('sum(rate(traces_span_metrics_calls_total[1m]))')}`);
  await expect(page.getByTestId('metrics-heatmap').getByRole('alert')).toContainText('Not a histogram');
});

test('an invalid PromQL query shows the parser error at its position', async ({ page }) => {
  await page.goto(`${base()}/query?query=${encodeURIComponent('sum(rate(up[5m])')}`);
  await expect(page.getByTestId('query-error')).toContainText('unclosed left parenthesis');
  await expect(page.locator('.query-caret')).toContainText('^');
});

test('a failing API breaks its own panel only', async ({ page }) => {
  await page.route('**/api/v1/query_range**', (r) => r.fulfill({ status: 503, contentType: 'application/json', body: '{"status":"error","errorType":"unavailable","error":"query engine overloaded"}' }));
  await page.goto(`${base()}/services/inventory?from=now-15m`);
  await expect(page.getByTestId('service-rate').getByRole('alert')).toContainText('query engine overloaded');
  await expect(page.getByTestId('operations').getByText('GET /stock/{id}')).toBeVisible();
});

test('an unknown trace ID says so', async ({ page }) => {
  await page.goto(`${base()}/traces/${hex(16)}`);
  await expect(page.getByRole('alert')).toContainText('not stored');
});

test('a trace of 10,000 spans opens and scrolls', async ({ page, request }) => {
  const traceId = hex(16);
  const now = Date.now() * 1e6;
  const services = ['gateway', 'orders', 'payments', 'stock', 'mailer'];
  const spans: Record<string, unknown>[][] = services.map(() => []);
  // A tree of 10,000 spans: each span has up to 6 children, 1 ms apart.
  const ids: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const id = hex(8);
    ids.push(id);
    const parent = i === 0 ? undefined : ids[Math.floor((i - 1) / 6)];
    const start = now + i * 1_000_000;
    spans[i % services.length].push({
      traceId, spanId: id, parentSpanId: parent, name: `op-${i % 40}`, kind: 2,
      startTimeUnixNano: String(start), endTimeUnixNano: String(start + (10_000 - i) * 1_000_000),
      attributes: [{ key: 'i', value: { intValue: String(i) } }],
      status: i % 997 === 0 ? { code: 2 } : {},
    });
  }
  const body = {
    resourceSpans: services.map((s, i) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: s } }] },
      scopeSpans: [{ spans: spans[i] }],
    })),
  };
  const res = await request.post(`${base()}/v1/traces`, { data: body });
  expect(res.status()).toBe(200);

  const t0 = Date.now();
  await page.goto(`${base()}/traces/${traceId}`);
  await expect(page.getByTestId('span-count')).toHaveText('10000 spans', { timeout: 30_000 });
  await expect(page.getByTestId('span-row').first()).toBeVisible();
  record('trace view of 10,000 spans: navigation to rows shown', Date.now() - t0, 'ms');
  // Only the rows in view are in the DOM.
  expect(await page.getByTestId('span-row').count()).toBeLessThan(200);

  // Scroll through the whole waterfall, one step per frame, timing frames.
  const frames = await page.getByTestId('waterfall-scroll').evaluate(async (el) => {
    const times: number[] = [];
    let last = performance.now();
    for (let i = 0; i < 240; i++) {
      el.scrollTop = (el.scrollHeight * i) / 240;
      await new Promise((r) => requestAnimationFrame(r));
      const t = performance.now();
      times.push(t - last);
      last = t;
    }
    times.sort((a, b) => a - b);
    return { p50: times[Math.floor(times.length / 2)], p95: times[Math.floor(times.length * 0.95)], max: times[times.length - 1], over50: times.filter((t) => t > 50).length };
  });
  record('trace view of 10,000 spans: scroll frame time p50', frames.p50, 'ms');
  record('trace view of 10,000 spans: scroll frame time p95', frames.p95, 'ms');
  record('trace view of 10,000 spans: frames over 50 ms while scrolling', frames.over50, 'frames of 240');
  await expect(page.getByTestId('span-row').last()).toBeVisible();
  await screenshot(page, 'trace-10000-spans');

  // Collapsing the root hides the rest.
  await page.getByTestId('waterfall-scroll').evaluate((el) => (el.scrollTop = 0));
  await page.getByTestId('span-row').first().getByRole('button', { name: 'collapse' }).click();
  await expect(page.getByTestId('span-row')).toHaveCount(1);
});
