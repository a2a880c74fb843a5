// Browser tests of dashboards: a built-in one per service, and the import
// of a Grafana dashboard with its report of what was not converted.
import { expect, test } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { base, screenshot } from './support';

const grafanaExport = fileURLToPath(new URL('../../../dashboard/testdata/grafana-shop.json', import.meta.url));

test('a built-in service dashboard draws its panels', async ({ page }) => {
  await page.goto(`${base()}/dashboards?from=now-15m`);
  await expect(page.getByTestId('dashboards-builtin').getByRole('link', { name: 'Argus' })).toBeVisible();
  await page.getByTestId('dashboards-builtin').getByRole('link', { name: /frontend/ }).click();
  await expect(page).toHaveURL(/\/dashboards\/service\/frontend\?from=now-15m/);
  const panels = page.getByTestId('dashboard-panel');
  await expect(panels.first()).toBeVisible();
  const series = panels.filter({ hasText: 'Requests per second' });
  await expect(series.locator('canvas').first()).toBeVisible();
  await expect(series.locator('.u-legend')).toContainText('POST /orders');
  await expect(panels.filter({ hasText: 'Goroutines' }).locator('canvas').first()).toBeVisible();
  await expect(panels.locator('[data-panel-type=logs]').or(panels.filter({ hasText: 'Logs' })).getByTestId('log-line').first()).toBeVisible();
  await screenshot(page, 'dashboard');

  // Argus's own dashboard (it scrapes itself once a minute, so a young demo may have little data).
  await page.goto(`${base()}/dashboards/argus?from=now-15m`);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Argus');
  expect(await page.getByTestId('dashboard-panel').count()).toBeGreaterThan(5);
});

test('a Grafana dashboard is imported, with what could not be converted listed', async ({ page }) => {
  await page.goto(`${base()}/dashboards/import?from=now-15m`);
  await page.getByLabel('Grafana dashboard file').setInputFiles(grafanaExport);
  const warnings = page.getByTestId('import-warnings');
  await expect(warnings).toContainText('panel "Orders by product": panel type "piechart" is not supported; left out');
  await expect(warnings).toContainText('data source "tempo" is not Prometheus or Loki');
  const dash = page.getByTestId('dashboard');
  await expect(dash.getByRole('heading', { name: 'Shop overview' })).toBeVisible();
  await expect(dash.locator('[data-panel-type=heatmap]')).toHaveCount(1);
  await expect(dash.locator('[data-panel-type=stat]').first()).toBeVisible();

  // Template variables: options come from the label values; picking one is a URL change.
  const job = dash.getByTestId('variables').getByLabel('Job');
  await expect(job.locator('option', { hasText: 'frontend' })).toHaveCount(1);
  await job.selectOption(['frontend']);
  await expect(page).toHaveURL(/var-job=frontend/);
  const goroutines = dash.getByTestId('dashboard-panel').filter({ hasText: 'Goroutines' });
  await expect(goroutines.locator('.u-legend')).toContainText('frontend');
  await expect(goroutines.locator('.u-legend')).not.toContainText('inventory');
  await screenshot(page, 'dashboard-import');

  // Not a dashboard at all: the server's reason, in place.
  await page.getByLabel('Grafana dashboard JSON').fill('[1, 2, 3]');
  await page.getByRole('button', { name: 'Convert', exact: true }).click();
  await expect(page.getByTestId('import').getByRole('alert')).toContainText('not a Grafana dashboard');
});
