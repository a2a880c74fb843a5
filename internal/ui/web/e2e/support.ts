// Helpers shared by the browser tests: the server's address, screenshots
// kept as artifacts, and numbers measured in the browser.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Page } from '@playwright/test';

/** base is the address of the argus under test. */
export function base(): string {
  const u = process.env.ARGUS_URL;
  if (!u) throw new Error('ARGUS_URL is not set: global setup did not run');
  return u;
}

const shots = process.env.SCREENSHOT_DIR ?? 'test-results/screenshots';

/** screenshot saves the page as name.png among the test artifacts. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

const perfFile = 'test-results/perf.json';

/** record keeps a number measured in the browser in test-results/perf.json. */
export function record(name: string, value: number, unit: string): void {
  mkdirSync(dirname(perfFile), { recursive: true });
  let all: Record<string, { value: number; unit: string }> = {};
  try {
    all = JSON.parse(readFileSync(perfFile, 'utf8'));
  } catch {
    /* first number */
  }
  all[name] = { value: Math.round(value * 10) / 10, unit };
  writeFileSync(perfFile, JSON.stringify(all, null, 2) + '\n');
  console.log(`perf: ${name} = ${all[name].value} ${unit}`);
}

/** hex makes a random lower-case hex ID of n bytes. */
export function hex(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  return s;
}
