import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildRuntime, type ServerRuntime } from '../../control-plane/runtime.js';
import { loadConfig } from '../../core/config.js';
import type { Tenant } from '../../core/registry/records.js';
import { testEndpoint, uniqueName } from '../support/aws.js';
import { ONBOARD_STEPS } from '../support/control-plane.js';
import { launchChromium, requireChromium } from './chromium.js';

/**
 * The web console in headless Chromium against a real control plane on moto: sign in, onboard and
 * watch the steps arrive, suspend, resume, change tier, offboard; a read-only key and a bad key.
 * Screenshots of each page, at 1280 and 390 px, go to test-artifacts/console/ (git-ignored);
 * with UPDATE_CONSOLE_SCREENSHOTS=1 the ones docs/console.md shows are refreshed too.
 */

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const DOC_SHOTS = join(process.cwd(), 'docs', 'console');
const ADMIN_KEY = 'console-test-admin-key-0123456789abcdef';
const WIDTHS = [1280, 390] as const;

let server: ServerRuntime;
let browser: BrowserContext;
let page: Page;
let readOnlyKey: string;

beforeAll(async () => {
  requireChromium();
  const config = loadConfig({
    env: {},
    overrides: {
      awsEndpoint: testEndpoint(),
      registryTable: uniqueName('registry'),
      resourcePrefix: uniqueName('ui'),
      dataDir: mkdtempSync(join(tmpdir(), 'tcp-console-')),
      adminKey: ADMIN_KEY,
      logLevel: 'silent',
      stackPollMs: 40,
      port: 0,
    },
  });
  server = await buildRuntime(config, { role: 'server', templateCacheDir: inject('templateCacheDir') });
  const res = await fetch(`${server.url}/v1/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'console-reader', scopes: ['tenants:read'] }),
  });
  readOnlyKey = ((await res.json()) as { key: string }).key;
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
  page = await browser.newPage();
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Screenshots at both widths; at each, the page must not scroll sideways (no layout break). */
async function shot(name: string, docs = false): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name} at ${width}px scrolls sideways by ${overflow}px`).toBeLessThanOrEqual(0);
    const file = join(ARTIFACTS, `${name}-${width}.png`);
    await page.screenshot({ path: file });
    if (docs && width === 1280 && process.env.UPDATE_CONSOLE_SCREENSHOTS === '1') {
      mkdirSync(DOC_SHOTS, { recursive: true });
      copyFileSync(file, join(DOC_SHOTS, `${name}.png`));
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function signIn(key: string): Promise<void> {
  await page.goto(`${server.url}/console`);
  // Keyboard only: the field has focus, Enter submits.
  const field = page.getByLabel('API key or JWT');
  await field.waitFor();
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
}

async function signOut(): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key or JWT').waitFor();
}

/** Follows the operation page to its end; answers the step counts seen on the way. */
async function operationEnds(status = 'SUCCEEDED'): Promise<number[]> {
  await page.waitForURL(/#\/operations\/op_/);
  const counts = await page.evaluate(async (want) => {
    const seen: number[] = [];
    const steps = () => document.querySelectorAll('.steps .step').length;
    const badge = () => document.querySelector('.page-head .badge')?.textContent;
    await new Promise<void>((done) => {
      const check = () => {
        const n = steps();
        if (seen.at(-1) !== n) seen.push(n);
        if (badge() === want || badge() === 'FAILED') done();
      };
      new MutationObserver(check).observe(document.body, {
        subtree: true,
        childList: true,
        characterData: true,
      });
      check();
    });
    return seen;
  }, status);
  await expect.poll(() => page.locator('.page-head .badge').textContent()).toBe(status);
  return counts;
}

async function tenantState(): Promise<string | null> {
  return page.locator('.page-head .badge').textContent();
}

async function openTenant(slug: string): Promise<Tenant> {
  const res = await fetch(`${server.url}/v1/tenants/${slug}`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  const tenant = (await res.json()) as Tenant;
  await page.goto(`${server.url}/console#/tenants/${tenant.tenantId}`);
  await page.getByRole('heading', { level: 1, name: new RegExp(tenant.name) }).waitFor();
  return tenant;
}

describe('the console in Chromium', () => {
  it('a bad key sees a clear error, and the key never reaches the URL', async () => {
    await signIn('not-a-real-key');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('UNAUTHENTICATED');
    expect(await alert.textContent()).toContain('the API key is not recognised');
    expect(page.url()).not.toContain('not-a-real-key');
    await shot('sign-in-error');
  });

  it('signs in and lists tenants with filters, counts and pagination', async () => {
    await signIn(ADMIN_KEY);
    await page.getByRole('heading', { name: 'Tenants' }).waitFor();
    expect(page.url()).not.toContain(ADMIN_KEY);
    const filters = page.getByRole('search');
    for (const label of ['Search', 'Tier', 'State'])
      await filters.getByLabel(label, { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Previous' }).waitFor();
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
  });

  it('onboards a tenant and shows its steps as they happen', async () => {
    await page.getByRole('button', { name: 'Onboard a tenant' }).click();
    const form = page.getByRole('form', { name: 'Onboard a tenant' });
    await form.getByLabel('Name').fill('Console Corp');
    await form.getByLabel('Slug (optional)').fill('console-corp');
    await form.getByLabel('Tier').selectOption('basic');
    await form.getByLabel('Admin email').fill('ops@console.example.com');
    await form.getByRole('button', { name: 'Onboard', exact: true }).click();
    const counts = await operationEnds();
    // Live: the list grew step by step while the page was open, not all at once at the end.
    expect(counts.length, `step counts seen: ${counts.join(', ')}`).toBeGreaterThan(2);
    expect(await page.locator('.steps .step .name').allTextContents()).toEqual(ONBOARD_STEPS);
    await shot('operation', true);
  });

  it('shows a tenant: tier, stacks with ARNs, API key, audit trail, operations', async () => {
    await openTenant('console-corp');
    expect(await tenantState()).toBe('ACTIVE');
    await expect
      .poll(() => page.getByRole('region', { name: 'Stacks' }).textContent())
      .toContain('arn:aws:cloudformation');
    await expect.poll(() => page.locator('.facts').textContent()).toMatch(/API keyissued/);
    await expect
      .poll(() => page.getByRole('region', { name: 'Audit trail' }).textContent())
      .toContain('operation.started');
    await shot('tenant', true);
    await page.goto(`${server.url}/console#/tenants`);
    await page.getByRole('link', { name: 'console-corp' }).waitFor();
    await expect.poll(() => page.locator('.counts').first().textContent()).toContain('basic');
    await shot('tenants', true);
  });

  it('suspends with a reason, then resumes', async () => {
    await openTenant('console-corp');
    await page.getByLabel('Suspension reason').fill('unpaid invoice');
    await page.getByRole('button', { name: 'Suspend' }).click();
    await operationEnds();
    await openTenant('console-corp');
    expect(await tenantState()).toBe('SUSPENDED');
    await expect
      .poll(() => page.getByRole('region', { name: 'Audit trail' }).textContent())
      .toContain('unpaid invoice');
    await page.getByRole('button', { name: 'Resume' }).click();
    await operationEnds();
    await openTenant('console-corp');
    expect(await tenantState()).toBe('ACTIVE');
  });

  it('changes the tier across isolation models, showing the migration hand-off live', async () => {
    await openTenant('console-corp');
    await page.getByLabel('New tier').selectOption('premium');
    await page.getByRole('button', { name: 'Change tier' }).click();
    await page.waitForURL(/#\/operations\/op_/);
    const handoff = page.getByRole('region', { name: 'Migration hand-off' });
    await handoff.waitFor({ timeout: 60_000 });
    const id = page.url().split('/').at(-1)!;
    await expect(handoff.textContent()).resolves.toContain(`tenantctl migration complete ${id}`);
    expect(await page.locator('.steps .step-running .spinner').count()).toBe(1);
    await shot('operation-live', true);
    await handoff.getByRole('button', { name: 'Mark migrated' }).click();
    await operationEnds();
    await openTenant('console-corp');
    await expect.poll(() => page.locator('.facts').textContent()).toContain('premium (bridge)');
  });

  it('shows the tier catalog', async () => {
    await page.getByRole('link', { name: 'Tiers' }).click();
    await page.getByRole('rowheader', { name: 'enterprise-dedicated' }).waitFor();
    await shot('tiers');
  });

  it('a read-only key sees the tenants but no action buttons', async () => {
    await signOut();
    await signIn(readOnlyKey);
    await page.getByRole('heading', { name: 'Tenants' }).waitFor();
    expect(await page.getByRole('button', { name: 'Onboard a tenant' }).count()).toBe(0);
    await openTenant('console-corp');
    expect(await page.getByRole('region', { name: 'Actions' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Suspend|Offboard|Change tier/ }).count()).toBe(0);
    await shot('tenant-read-only');
    await signOut();
  });

  it('offboards only after the slug is typed', async () => {
    await signIn(ADMIN_KEY);
    await page.getByRole('heading', { name: 'Tenants' }).waitFor();
    await openTenant('console-corp');
    const offboard = page.getByRole('button', { name: 'Offboard' });
    expect(await offboard.isDisabled()).toBe(true);
    await page.getByLabel(/to offboard/).fill('console-cor');
    expect(await offboard.isDisabled()).toBe(true);
    await page.getByLabel(/to offboard/).fill('console-corp');
    await offboard.click();
    await operationEnds();
    await openTenant('console-corp');
    expect(await tenantState()).toBe('OFFBOARDED');
  });
});
