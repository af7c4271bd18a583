import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ONBOARD_STEPS } from '../support/control-plane.js';
import { seedTenants } from '../support/seed.js';
import { type ConsoleHarness, startConsoleHarness } from './harness.js';

/**
 * The web console in headless Chromium against a real control plane on moto: sign in, onboard and
 * watch the steps arrive, suspend, resume, change tier, offboard; a read-only key and a bad key;
 * the tenant list over more than a page. Rollouts, health and cost: console-fleet.e2e.test.ts.
 * Screenshots: test/browser/harness.ts.
 */

const ADMIN_KEY = 'console-test-admin-key-0123456789abcdef';

let h: ConsoleHarness;
let readOnlyKey: string;

beforeAll(async () => {
  h = await startConsoleHarness({ adminKey: ADMIN_KEY, prefix: 'ui' });
  readOnlyKey = await h.keyWith(['tenants:read']);
});

afterAll(async () => {
  await h?.close();
});

const page = () => h.page;
const tenantState = () => h.page.locator('.page-head .badge').textContent();

describe('the console in Chromium', () => {
  it('a bad key sees a clear error, and the key never reaches the URL', async () => {
    await h.signIn('not-a-real-key');
    const alert = page().getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('UNAUTHENTICATED');
    expect(await alert.textContent()).toContain('the API key is not recognised');
    expect(page().url()).not.toContain('not-a-real-key');
    await h.shot('sign-in-error');
  });

  it('signs in and lists tenants with filters, counts and pagination', async () => {
    await h.signIn(ADMIN_KEY);
    await page().getByRole('heading', { name: 'Tenants' }).waitFor();
    expect(page().url()).not.toContain(ADMIN_KEY);
    const filters = page().getByRole('search');
    for (const label of ['Search', 'Tier', 'State'])
      await filters.getByLabel(label, { exact: true }).waitFor();
    await page().getByRole('button', { name: 'Previous' }).waitFor();
    expect(await page().getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
  });

  it('onboards a tenant and shows its steps as they happen', async () => {
    await page().getByRole('button', { name: 'Onboard a tenant' }).click();
    const form = page().getByRole('form', { name: 'Onboard a tenant' });
    await form.getByLabel('Name').fill('Console Corp');
    await form.getByLabel('Slug (optional)').fill('console-corp');
    await form.getByLabel('Tier').selectOption('basic');
    await form.getByLabel('Admin email').fill('ops@console.example.com');
    await form.getByRole('button', { name: 'Onboard', exact: true }).click();
    const counts = await h.operationEnds();
    // Live: the list grew step by step while the page was open, not all at once at the end.
    expect(counts.length, `step counts seen: ${counts.join(', ')}`).toBeGreaterThan(2);
    expect(await page().locator('.steps .step .name').allTextContents()).toEqual(ONBOARD_STEPS);
    await h.shot('operation', true);
  });

  it('shows a tenant: tier, stacks with ARNs, API key, audit trail, operations', async () => {
    await h.openTenant('console-corp');
    expect(await tenantState()).toBe('ACTIVE');
    await expect
      .poll(() => page().getByRole('region', { name: 'Stacks' }).textContent())
      .toContain('arn:aws:cloudformation');
    await expect.poll(() => page().locator('.facts').textContent()).toMatch(/API keyissued/);
    await expect
      .poll(() => page().getByRole('region', { name: 'Audit trail' }).textContent())
      .toContain('operation.started');
    await h.shot('tenant', true);
    await page().goto(`${h.server.url}/console#/tenants`);
    await page().getByRole('link', { name: 'console-corp' }).waitFor();
    await expect.poll(() => page().locator('.counts').first().textContent()).toContain('basic');
    await h.shot('tenants', true);
  });

  it('suspends with a reason, then resumes', async () => {
    await h.openTenant('console-corp');
    await page().getByLabel('Suspension reason').fill('unpaid invoice');
    await page().getByRole('button', { name: 'Suspend' }).click();
    await h.operationEnds();
    await h.openTenant('console-corp');
    expect(await tenantState()).toBe('SUSPENDED');
    await expect
      .poll(() => page().getByRole('region', { name: 'Audit trail' }).textContent())
      .toContain('unpaid invoice');
    await page().getByRole('button', { name: 'Resume' }).click();
    await h.operationEnds();
    await h.openTenant('console-corp');
    expect(await tenantState()).toBe('ACTIVE');
  });

  it('changes the tier across isolation models, showing the migration hand-off live', async () => {
    await h.openTenant('console-corp');
    await page().getByLabel('New tier').selectOption('premium');
    await page().getByRole('button', { name: 'Change tier' }).click();
    await page().waitForURL(/#\/operations\/op_/);
    const handoff = page().getByRole('region', { name: 'Migration hand-off' });
    await handoff.waitFor({ timeout: 60_000 });
    const id = page().url().split('/').at(-1)!;
    await expect(handoff.textContent()).resolves.toContain(`tenantctl migration complete ${id}`);
    expect(await page().locator('.steps .step-running .spinner').count()).toBe(1);
    await h.shot('operation-live', true);
    await handoff.getByRole('button', { name: 'Mark migrated' }).click();
    await h.operationEnds();
    await h.openTenant('console-corp');
    await expect.poll(() => page().locator('.facts').textContent()).toContain('premium (bridge)');
  });

  it('shows the tier catalog', async () => {
    await page().getByRole('link', { name: 'Tiers' }).click();
    await page().getByRole('rowheader', { name: 'enterprise-dedicated' }).waitFor();
    await h.shot('tiers');
  });

  it('a read-only key sees the tenants but no action buttons', async () => {
    await h.signOut();
    await h.signIn(readOnlyKey);
    await page().getByRole('heading', { name: 'Tenants' }).waitFor();
    expect(await page().getByRole('button', { name: 'Onboard a tenant' }).count()).toBe(0);
    await h.openTenant('console-corp');
    expect(await page().getByRole('region', { name: 'Actions' }).count()).toBe(0);
    expect(
      await page()
        .getByRole('button', { name: /Suspend|Offboard|Change tier/ })
        .count(),
    ).toBe(0);
    await h.shot('tenant-read-only');
    await h.signOut();
  });

  it('offboards only after the slug is typed', async () => {
    await h.signIn(ADMIN_KEY);
    await page().getByRole('heading', { name: 'Tenants' }).waitFor();
    await h.openTenant('console-corp');
    const offboard = page().getByRole('button', { name: 'Offboard' });
    expect(await offboard.isDisabled()).toBe(true);
    await page()
      .getByLabel(/to offboard/)
      .fill('console-cor');
    expect(await offboard.isDisabled()).toBe(true);
    await page()
      .getByLabel(/to offboard/)
      .fill('console-corp');
    await offboard.click();
    await h.operationEnds();
    await h.openTenant('console-corp');
    expect(await tenantState()).toBe('OFFBOARDED');
  });

  it('pages the tenant list over the API cursors: Next and Previous', async () => {
    await seedTenants(h.server.aws.clients.documents, h.server.config.registryTable, 30, () => ({
      tier: 'basic',
      state: 'SUSPENDED',
    }));
    await page().goto(`${h.server.url}/console#/tenants`);
    await page().reload();
    const slugs = () =>
      page().getByRole('region', { name: 'Tenants' }).locator('tbody td:first-child a').allTextContents();
    await expect.poll(async () => (await slugs()).length, { timeout: 20_000 }).toBe(25);
    const first = await slugs();
    const next = page().getByRole('button', { name: 'Next' });
    expect(await next.isDisabled()).toBe(false);
    expect(await page().getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true);
    await next.click();
    await page().getByText('page 2').waitFor();
    // 31 tenants: console-corp (offboarded) and the 30 seeded; the second page holds the other 6.
    await expect.poll(async () => (await slugs()).length, { timeout: 20_000 }).toBe(6);
    const second = await slugs();
    expect(second.filter((slug) => first.includes(slug))).toEqual([]);
    expect(new Set([...first, ...second]).size).toBe(31);
    expect(await next.isDisabled()).toBe(true);
    await h.shot('tenants-page-2');
    await page().getByRole('button', { name: 'Previous' }).click();
    await page().getByText('page 1').waitFor();
    await expect.poll(slugs, { timeout: 20_000 }).toEqual(first);
  });
});
