// Browser tests of the alerts page against the demo's own alert loop:
// chaos in the inventory fires InventoryErrors, its webhook is notified and
// its action resets the inventory.
import { expect, test } from '@playwright/test';
import { base, screenshot } from './support';

async function waitForFiring(name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = (await (await fetch(`${base()}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
    if (r.data.alerts.some((a) => a.labels.alertname === name && a.state === 'firing')) return;
    await new Promise((res) => setTimeout(res, 1000));
  }
  throw new Error(`${name} did not fire within ${timeoutMs / 1000}s`);
}

test('an alert fires, is acknowledged, and its history, action run and notifications show', async ({ page }) => {
  test.setTimeout(420_000);
  await waitForFiring('InventoryErrors', 180_000);
  // An acknowledgement silences the alert's notifications until it
  // resolves, so let the first one go out before acknowledging.
  await expect.poll(async () => /alertmanager_notifications_total\{integration="webhook"\} [1-9]/.test(await (await fetch(`${base()}/metrics`)).text()), { timeout: 30_000 }).toBe(true);

  await page.goto(`${base()}/alerts?from=now-15m`);
  const card = page.getByTestId('alert-card').filter({ hasText: 'InventoryErrors' });
  await expect(card).toContainText('firing');
  await expect(card).toContainText('inventory fails');
  await card.getByRole('button', { name: 'Acknowledge' }).click();
  await card.getByLabel('Your name').fill('ui-test');
  await card.getByLabel('Comment').fill('looking into it');
  await card.locator('form').getByRole('button', { name: 'Acknowledge' }).click();
  await expect(card.getByTestId('acked')).toContainText('acknowledged by ui-test: looking into it');
  await screenshot(page, 'alerts');

  await page.getByRole('tab', { name: 'History' }).click();
  await expect(page).toHaveURL(/tab=history/);
  const history = page.getByTestId('alert-history');
  await expect(history.getByTestId('history-row').filter({ hasText: 'firing' }).first()).toContainText('InventoryErrors');
  await expect(history.getByTestId('history-row').filter({ hasText: 'acknowledged' }).first()).toContainText('ui-test: looking into it');

  await page.getByRole('tab', { name: 'Actions' }).click();
  const run = page.getByTestId('action-runs').getByTestId('run-row').filter({ hasText: 'reset-inventory' }).first();
  await expect(run).toContainText('InventoryErrors');
  await expect(run).toContainText(/success|skipped/);
  await run.click();
  await expect(page.getByTestId('action-runs')).toContainText('/admin/reset');
  await screenshot(page, 'alerts-actions');

  await page.getByRole('tab', { name: 'Rules' }).click();
  await expect(page.getByTestId('rules')).toContainText('InventoryErrors');

  // Deliveries are counted in Argus's own metrics, which it scrapes from
  // itself once a minute: refresh until the webhook's attempts show.
  await page.getByRole('tab', { name: 'Notifications' }).click();
  await expect(async () => {
    await page.getByTitle('Refresh').click();
    await expect(page.getByTestId('deliveries')).toContainText('webhook', { timeout: 3000 });
  }).toPass({ timeout: 180_000, intervals: [5000] });
});

test('a silence is created from matchers, listed, and expired', async ({ page }) => {
  await page.goto(`${base()}/alerts?tab=silences`);
  const form = page.getByTestId('silence-form');
  await form.getByLabel('Matchers').fill('{alertname="NoSuchAlert", env=~"e2e|test"');
  await form.getByLabel('Your name').fill('ui-test');
  await form.getByRole('button', { name: 'Silence' }).click();
  await expect(page.getByRole('alert')).toContainText('missing closing "}"');

  await form.getByLabel('Matchers').fill('{alertname="NoSuchAlert", env=~"e2e|test"}');
  await form.getByLabel('Comment').fill('maintenance');
  await form.getByRole('button', { name: 'Silence' }).click();
  const row = page.getByTestId('silence-row').filter({ hasText: 'NoSuchAlert' });
  await expect(row).toContainText('{alertname="NoSuchAlert", env=~"e2e|test"}');
  await expect(row).toContainText('ui-test: maintenance');
  await screenshot(page, 'alerts-silences');
  await row.getByRole('button', { name: 'Expire' }).click();
  await expect(row).toHaveCount(0);
});
