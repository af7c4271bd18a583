import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation, Tenant } from '../../core/registry/records.js';
import type { Rollout } from '../../core/rollouts/records.js';
import { type CfnTemplate, SynthesisService, type TemplateKind } from '../../templates/index.js';
import { testSynth } from '../support/control-plane.js';
import { costPeriod, presetCostAndUsage } from '../support/cost-explorer.js';
import { liveStacks } from '../support/moto-state.js';
import { type ConsoleHarness, startConsoleHarness } from './harness.js';

/**
 * The console's fleet pages in headless Chromium against a real control plane on moto: a rollout
 * started through the API, followed, paused and resumed from its page, the brake applied; drift
 * made behind the control plane's back (a deleted API key) found by a reconcile run from the
 * Health page and repaired from it; the Cost page's bar per tier and a tenant's cost per period
 * from preset Cost Explorer answers; a read-only key sees every page and no action.
 */

const ADMIN_KEY = 'console-fleet-admin-key-0123456789abcdef';
/** A range no other test asks Cost Explorer about: moto answers each request body from a queue. */
const COST_FROM = '2025-07-01';
const COST_TO = '2025-07-04';
/** What the page waits on is real work on a shared, loaded machine: vitest's 1 s default is too short. */
const POLL_TIMEOUT = 30_000;

let h: ConsoleHarness;
let readOnlyKey: string;
let a: Tenant;
let b: Tenant;
let rolloutId = '';

async function onboard(slug: string): Promise<Tenant> {
  const started = await h.call<{ operation: Operation }>('POST', '/v1/tenants', {
    name: `Fleet ${slug}`,
    slug,
    tier: 'basic',
    adminEmail: `ops@${slug}.example.com`,
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const id = started.body.operation.operationId;
  for (;;) {
    const op = await h.call<Operation>('GET', `/v1/operations/${id}?waitSeconds=5`);
    if (op.body.status === 'SUCCEEDED') break;
    expect(['RUNNING', 'PENDING'], JSON.stringify(op.body.error)).toContain(op.body.status);
  }
  return (await h.call<Tenant>('GET', `/v1/tenants/${slug}`)).body;
}

/** A new template version of every isolation model, as a code change would register one. */
async function newTemplateVersion(): Promise<void> {
  const base: Partial<Record<TemplateKind, CfnTemplate>> = {};
  for (const kind of ['pool', 'bridge', 'silo'] as const)
    base[kind] = JSON.parse((await testSynth().resolve(kind, 'aws')).body) as CfnTemplate;
  const variant = new SynthesisService({
    cacheDir: mkdtempSync(join(tmpdir(), 'tcp-console-rollout-')),
    synthesize: (kind) => ({ ...base[kind]!, Description: `${base[kind]!.Description ?? kind} (console)` }),
  });
  await h.server.workflows.rollouts.registerVersions(variant);
}

beforeAll(async () => {
  h = await startConsoleHarness({ adminKey: ADMIN_KEY, prefix: 'uif' });
  readOnlyKey = await h.keyWith(['tenants:read', 'rollouts:read', 'costs:read']);
  a = await onboard('fleet-a');
  b = await onboard('fleet-b');
}, 120_000);

afterAll(async () => {
  await h?.close();
});

const page = () => h.page;
const badge = () => page().locator('.page-head .badge').textContent();

describe('the console fleet pages in Chromium', () => {
  it('shows a rollout started through the API, its waves live, and pauses and resumes it from the page', async () => {
    await newTemplateVersion();
    const started = await h.call<{ rollout: Rollout }>('POST', '/v1/rollouts', {
      tiers: ['basic'],
      waves: [{ tenants: [a.slug] }, { tenants: [b.slug] }],
      // The bake between the waves holds it RUNNING long enough to pause it from the page.
      bakeSeconds: 20,
      maxConcurrency: 1,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    rolloutId = started.body.rollout.rolloutId;

    await h.signIn(ADMIN_KEY);
    await page().getByRole('link', { name: 'Rollouts' }).click();
    const row = page().getByRole('row', { name: new RegExp(rolloutId) });
    await row.waitFor();
    // A progress bar per wave, each an image that reads its numbers.
    expect(await row.locator('svg.progress').count()).toBe(2);
    await expect
      .poll(() => row.locator('svg.progress').first().getAttribute('aria-label'), { timeout: POLL_TIMEOUT })
      .toMatch(/1 done/);
    await h.shot('rollouts', true);

    await row.getByRole('link', { name: rolloutId }).click();
    await page()
      .getByRole('heading', { level: 1, name: /Rollout/ })
      .waitFor();
    const wave1 = page().getByRole('region', { name: 'Wave wave-1', exact: true });
    await expect.poll(() => wave1.textContent(), { timeout: 30_000 }).toContain('1/1 done');
    expect(await badge()).toBe('RUNNING');
    // By keyboard: the controls are real buttons in the tab order.
    await h.tabTo('Pause');
    await page().keyboard.press('Enter');
    await expect.poll(badge, { timeout: POLL_TIMEOUT }).toBe('PAUSED');
    expect(await page().getByRole('button', { name: 'Pause' }).count()).toBe(0);
    await h.shot('rollout-paused');

    // The brake while paused: maxConcurrency 2 from the next admission.
    await page().getByLabel('Max concurrency').fill('2');
    await page().getByRole('button', { name: 'Apply brake' }).click();
    await expect
      .poll(() => page().locator('.facts').textContent(), { timeout: POLL_TIMEOUT })
      .toContain('Max concurrency2');
    expect(
      (await h.call<{ rollout: Rollout }>('GET', `/v1/rollouts/${rolloutId}`)).body.rollout.maxConcurrency,
    ).toBe(2);

    await page().getByRole('button', { name: 'Resume' }).click();
    // Live: the page follows it to its end without a reload.
    await expect.poll(badge, { timeout: 60_000 }).toBe('SUCCEEDED');
    const wave2 = page().getByRole('region', { name: 'Wave wave-2', exact: true });
    await expect.poll(() => wave2.textContent(), { timeout: POLL_TIMEOUT }).toContain('1/1 done');
    // Each tenant's outcome: succeeded, from its old version to the target, with its operation.
    const outcome = page()
      .getByRole('region', { name: 'Tenants of wave wave-2' })
      .getByRole('row', {
        name: new RegExp(b.tenantId),
      });
    await expect.poll(() => outcome.textContent(), { timeout: POLL_TIMEOUT }).toMatch(/succeeded/);
    expect(await outcome.textContent()).toMatch(/[0-9a-f]{12} → [0-9a-f]{12}/);
    expect(await outcome.getByRole('link', { name: /^op_/ }).count()).toBe(1);
    expect(
      await page()
        .getByRole('button', { name: /Pause|Resume|Abort|Apply brake/ })
        .count(),
    ).toBe(0);
    await h.shot('rollout', true);
  });

  it('starts a rollout from the page: a canary first, then a wave per tier', async () => {
    await page().getByRole('link', { name: 'Rollouts', exact: true }).click();
    await page().getByRole('button', { name: 'Start a rollout' }).click();
    const form = page().getByRole('form', { name: 'Start a rollout' });
    await form.getByLabel('basic (pool)').check();
    await form.getByLabel('A wave per tier, in this order').check();
    await form.getByLabel('Canary tenants').fill('1');
    await form.getByLabel('Max concurrency').fill('2');
    await h.shot('rollout-start');
    await form.getByRole('button', { name: 'Start rollout' }).click();
    await page().waitForURL(/#\/rollouts\/ro_/);
    const id = page().url().split('/').at(-1)!;
    expect(id).not.toBe(rolloutId);
    await page().getByRole('region', { name: 'Wave canary', exact: true }).waitFor();
    await expect.poll(badge, { timeout: 60_000 }).toBe('SUCCEEDED');
    const { body } = await h.call<{ rollout: Rollout }>('GET', `/v1/rollouts/${id}`);
    expect(body.rollout).toMatchObject({ maxConcurrency: 2, request: { tiers: ['basic'] } });
    expect(body.rollout.waves.map((w) => [w.name, w.tenantIds.length])).toEqual([
      ['canary', 1],
      ['wave-1', 1],
    ]);
  });

  it('finds drift from the Health page (a deleted API key, an orphan stack), repairs the tenant and deletes the orphan from there', async () => {
    const { clients } = h.server.aws;
    const orphanStack = `${h.server.config.resourcePrefix}-orphan-stack`;
    await clients.apigateway.send(new DeleteApiKeyCommand({ apiKey: b.access.apiKeyId! }));
    await clients.cloudformation.send(
      new CreateStackCommand({
        StackName: orphanStack,
        TemplateBody: JSON.stringify({ Resources: { Topic: { Type: 'AWS::SNS::Topic' } } }),
        Tags: [{ Key: 'TenantId', Value: 't_01JE0000000000000000000000' }],
      }),
    );
    await page().getByRole('link', { name: 'Health' }).click();
    await page().getByRole('heading', { level: 1, name: 'Health and drift' }).waitFor();
    await h.tabTo('Run reconcile');
    await page().keyboard.press('Enter');
    await expect.poll(() => page().locator('.run').textContent(), { timeout: 60_000 }).toContain('SUCCEEDED');
    const health = page().getByRole('region', { name: 'Tenant health' });
    await expect
      .poll(() => health.getByRole('row', { name: /fleet-b/ }).textContent(), { timeout: POLL_TIMEOUT })
      .toContain('degraded');
    expect(await health.getByRole('row', { name: /fleet-a/ }).textContent()).toContain('healthy');
    const byClass = page().getByRole('region', { name: 'Findings by class and severity' });
    // missing: 1 error (the key), 0 warnings, 0 info.
    expect(
      await byClass
        .getByRole('row', { name: /^missing/ })
        .locator('td')
        .allTextContents(),
    ).toEqual(['1', '0', '0']);
    const finding = page()
      .getByRole('region', { name: 'Findings', exact: true })
      .getByRole('row', { name: /api-key/ });
    expect(await finding.textContent()).toContain('fleet-b');
    expect(await finding.textContent()).toContain('missing');
    await h.shot('health', true);

    // The orphan: reported, deleted only when an admin chooses it.
    const orphans = page().getByRole('region', { name: 'Orphan stacks', exact: true });
    expect(await orphans.textContent()).toContain('t_01JE0000000000000000000000');
    const remove = page().getByRole('button', { name: 'Delete the chosen stacks' });
    expect(await remove.isDisabled()).toBe(true);
    await orphans.getByRole('checkbox', { name: new RegExp(orphanStack) }).check();
    await remove.click();
    await expect
      .poll(() => orphans.getByRole('row', { name: new RegExp(orphanStack) }).textContent(), {
        timeout: POLL_TIMEOUT,
      })
      .toMatch(/deleted$/);
    expect(await liveStacks(clients, orphanStack)).toEqual([]);

    // Only the drifted tenant has something to repair.
    expect(await page().getByRole('button', { name: 'Repair fleet-a' }).count()).toBe(0);
    await page().getByRole('button', { name: 'Repair fleet-b' }).click();
    await h.operationEnds();
    await page().getByRole('link', { name: 'Health' }).click();
    await page().getByRole('button', { name: 'Reconcile fleet-b' }).click();
    await expect
      .poll(() =>
        page()
          .getByRole('region', { name: 'Tenant health' })
          .getByRole('row', { name: /fleet-b/ })
          .textContent(),
      )
      .toContain('healthy');
  });

  it('draws the cost per tier as one bar per tier, and a tenant’s cost per period, with the numbers in tables', async () => {
    const days = [
      ['2025-07-01', '2025-07-02', '1.00', '3.00'],
      ['2025-07-02', '2025-07-03', '2.00', '0.50'],
      ['2025-07-03', '2025-07-04', '0.50', '0.25'],
    ] as const;
    await presetCostAndUsage([
      {
        ResultsByTime: days.map(([start, end, ca, cb]) =>
          costPeriod(start, end, { [a.tenantId]: ca, [b.tenantId]: cb, '': '1.00' }),
        ),
      },
    ]);
    // A range the API refuses: its code and message, as the API answered them.
    await page().goto(`${h.server.url}/console#/costs/${COST_TO}/${COST_FROM}`);
    const refused = page().getByRole('alert');
    await refused.waitFor();
    expect(await refused.textContent()).toContain('INVALID_TIME_RANGE');
    expect(await refused.textContent()).toContain(`from ${COST_TO} to ${COST_FROM} is not accepted`);
    await page().goto(`${h.server.url}/console#/costs/${COST_FROM}/${COST_TO}/DAILY`);
    await page().getByRole('heading', { level: 1, name: 'Cost' }).waitFor();
    const chart = page().getByRole('img', { name: /^Cost per tier/ });
    await chart.waitFor();
    const { body: catalog } = await h.call<{ tiers: { name: string }[] }>('GET', '/v1/tiers');
    const bars = chart.locator('.chart-bar');
    expect(await bars.count()).toBe(catalog.tiers.length);
    expect(await bars.evaluateAll((gs) => gs.map((g) => g.getAttribute('data-label')))).toEqual(
      catalog.tiers.map((t) => t.name),
    );
    // Both tenants are basic: 3.50 + 3.75 of direct (tagged) cost; no other tier cost anything.
    expect(await chart.locator('.chart-bar[data-label="basic"]').getAttribute('data-value')).toBe('7.25');
    expect(await chart.locator('.chart-bar[data-label="premium"]').getAttribute('data-value')).toBe('0');
    expect(await chart.getAttribute('aria-label')).toContain('basic 7.25 USD');
    expect(await chart.locator('title').textContent()).toContain('Cost per tier');
    const tierTable = page().getByRole('region', { name: 'Cost per tier', exact: true });
    expect(await tierTable.getByRole('row', { name: /^basic/ }).textContent()).toContain('7.25 USD');

    // The top tenant's cost per period is charted first; another is one click away.
    const perTenant = page().getByRole('img', { name: /^Cost of fleet-b per period/ });
    expect(await perTenant.locator('.chart-column').count()).toBe(3);
    await page().getByRole('button', { name: 'Chart the cost of fleet-a' }).click();
    const ofA = page().getByRole('img', { name: /^Cost of fleet-a per period/ });
    expect(
      await ofA.locator('.chart-column').evaluateAll((cs) => cs.map((c) => c.getAttribute('data-value'))),
    ).toEqual(['1', '2', '0.5']);
    expect(
      await page()
        .getByRole('region', { name: 'Cost of fleet-a per period', exact: true })
        .getByRole('row')
        .count(),
    ).toBe(4);
    await page().evaluate(() => window.scrollTo(0, 0));
    await h.shot('cost', true);

    // The tenant page charts its own cost when asked (each report is billed Cost Explorer requests).
    await h.openTenant('fleet-b');
    const section = page().getByRole('region', { name: 'Cost', exact: true });
    expect(await section.getByRole('img').count()).toBe(0);
    await section.getByLabel('From').fill(COST_FROM);
    await section.getByLabel('To (exclusive)').fill(COST_TO);
    await section.getByRole('button', { name: 'Show cost' }).click();
    const own = section.getByRole('img', { name: /^Cost of fleet-b per period/ });
    await own.waitFor();
    expect(
      await own.locator('.chart-column').evaluateAll((cs) => cs.map((c) => c.getAttribute('data-value'))),
    ).toEqual(['3', '0.5', '0.25']);
    expect(await section.textContent()).toContain('3.75 USD');
    await section.scrollIntoViewIfNeeded();
    await h.shot('tenant-cost');
  });

  it('a read-only key sees the rollout, health and cost pages, and no action on them', async () => {
    await h.signOut();
    await h.signIn(readOnlyKey);
    const nav = page().getByRole('navigation', { name: 'Main' });
    for (const name of ['Rollouts', 'Health', 'Cost']) await nav.getByRole('link', { name }).waitFor();

    await nav.getByRole('link', { name: 'Rollouts' }).click();
    await page().getByRole('link', { name: rolloutId }).waitFor();
    expect(await page().getByRole('button', { name: 'Start a rollout' }).count()).toBe(0);
    await page().getByRole('link', { name: rolloutId }).click();
    await page().getByRole('region', { name: 'Wave wave-1', exact: true }).waitFor();
    expect(await page().getByRole('region', { name: 'Actions' }).count()).toBe(0);
    expect(
      await page()
        .getByRole('button', { name: /Pause|Resume|Abort|Apply brake/ })
        .count(),
    ).toBe(0);

    await nav.getByRole('link', { name: 'Health' }).click();
    await page()
      .getByRole('region', { name: 'Tenant health' })
      .getByRole('row', { name: /fleet-a/ })
      .waitFor();
    expect(
      await page()
        .getByRole('button', { name: /Run reconcile|Reconcile|Repair/ })
        .count(),
    ).toBe(0);
    await h.shot('health-read-only');

    await page().goto(`${h.server.url}/console#/costs/${COST_FROM}/${COST_TO}/DAILY`);
    await page()
      .getByRole('img', { name: /^Cost per tier/ })
      .waitFor();
    await h.shot('cost-read-only');
    await h.signOut();
  });

  it('a key without rollouts:read or costs:read is not offered those pages', async () => {
    const tenantsOnly = await h.keyWith(['tenants:read']);
    await h.signIn(tenantsOnly);
    const nav = page().getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Health' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Rollouts' }).count()).toBe(0);
    expect(await nav.getByRole('link', { name: 'Cost' }).count()).toBe(0);
    // The address alone does not open it: the tenant list is shown instead.
    await page().goto(`${h.server.url}/console#/rollouts/${rolloutId}`);
    await page().getByRole('heading', { level: 1, name: 'Tenants' }).waitFor();
    await h.signOut();
  });
});
