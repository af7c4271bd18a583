import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { expect, inject } from 'vitest';
import { buildRuntime, type ServerRuntime } from '../../control-plane/runtime.js';
import { loadConfig } from '../../core/config.js';
import type { Tenant } from '../../core/registry/records.js';
import { testEndpoint, uniqueName } from '../support/aws.js';
import { launchChromium, requireChromium } from './chromium.js';

/**
 * The console's browser tests share this: a real control plane on the test moto (server role, so
 * the console is built and served), an admin key, headless Chromium with one page, sign-in by
 * keyboard, and screenshots at 1280 and 390 px that also check nothing scrolls sideways.
 * Screenshots go to test-artifacts/console/ (git-ignored); with UPDATE_CONSOLE_SCREENSHOTS=1 the
 * ones docs/console.md shows are copied to docs/console/ too.
 */

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const DOC_SHOTS = join(process.cwd(), 'docs', 'console');
const WIDTHS = [1280, 390] as const;

export interface ConsoleHarness {
  readonly server: ServerRuntime;
  readonly page: Page;
  readonly adminKey: string;
  /** The API as the admin (or `key`): JSON in, status and JSON out. */
  call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    key?: string,
  ): Promise<{ status: number; body: T }>;
  /** A key with these scopes, made through the API. */
  keyWith(scopes: string[]): Promise<string>;
  shot(name: string, docs?: boolean): Promise<void>;
  signIn(key: string): Promise<void>;
  /** Presses Tab until the focused element is named `name` (its aria-label or text): keyboard reach. */
  tabTo(name: string): Promise<void>;
  signOut(): Promise<void>;
  /** Follows the operation page to its end; answers the step counts seen on the way. */
  operationEnds(status?: string): Promise<number[]>;
  openTenant(slug: string): Promise<Tenant>;
  close(): Promise<void>;
}

export async function startConsoleHarness(options: {
  adminKey: string;
  prefix: string;
}): Promise<ConsoleHarness> {
  requireChromium();
  const config = loadConfig({
    env: {},
    overrides: {
      awsEndpoint: testEndpoint(),
      registryTable: uniqueName('registry'),
      resourcePrefix: uniqueName(options.prefix),
      dataDir: mkdtempSync(join(tmpdir(), 'tcp-console-')),
      adminKey: options.adminKey,
      logLevel: 'silent',
      stackPollMs: 40,
      port: 0,
    },
  });
  const server = await buildRuntime(config, { role: 'server', templateCacheDir: inject('templateCacheDir') });
  mkdirSync(ARTIFACTS, { recursive: true });
  let browser: BrowserContext;
  try {
    browser = await launchChromium();
  } catch (e) {
    await server.close();
    throw e;
  }
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);

  const call: ConsoleHarness['call'] = async (method, path, body, key = options.adminKey) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as never };
  };

  const h: ConsoleHarness = {
    server,
    page,
    adminKey: options.adminKey,
    call,
    async keyWith(scopes) {
      const res = await call<{ key: string }>('POST', '/v1/api-keys', {
        name: `console-${scopes.join('-').replace(/[^a-z0-9._-]/g, '-')}`.slice(0, 64),
        scopes,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.key;
    },
    async shot(name, docs = false) {
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
    },
    async signIn(key) {
      await page.goto(`${server.url}/console`);
      // Keyboard only: the field has focus, Enter submits. Typed once it holds the focus: on a
      // loaded machine the page shows the field before its script has focused it, and keys
      // typed then go nowhere.
      const field = page.getByLabel('API key or JWT');
      await field.waitFor();
      await field.evaluate(
        (e) =>
          new Promise<void>((resolve, reject) => {
            const deadline = Date.now() + 10_000;
            const check = () => {
              if (document.activeElement === e) resolve();
              else if (Date.now() > deadline) reject(new Error('the key field never took the focus'));
              else setTimeout(check, 20);
            };
            check();
          }),
      );
      await page.keyboard.type(key);
      await page.keyboard.press('Enter');
    },
    async tabTo(name) {
      for (let i = 0; i < 120; i++) {
        await page.keyboard.press('Tab');
        const focused = await page.evaluate(() => {
          const e = document.activeElement;
          return e ? (e.getAttribute('aria-label') ?? e.textContent ?? '').trim() : '';
        });
        if (focused === name) return;
      }
      throw new Error(`no element named "${name}" is reached with the Tab key`);
    },
    async signOut() {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('API key or JWT').waitFor();
    },
    async operationEnds(status = 'SUCCEEDED') {
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
    },
    async openTenant(slug) {
      const { body: tenant } = await call<Tenant>('GET', `/v1/tenants/${slug}`);
      await page.goto(`${server.url}/console#/tenants/${tenant.tenantId}`);
      await page.getByRole('heading', { level: 1, name: new RegExp(tenant.name) }).waitFor();
      return tenant;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
  return h;
}
