import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { inject } from 'vitest';
import { type ControlPlane, type StartOptions, startControlPlane } from '../../../control-plane/server.js';
import { type Config, loadConfig } from '../../../core/config.js';
import type { AuditEvent, Operation } from '../../../core/registry/records.js';
import { testEndpoint, uniqueName } from '../../support/aws.js';

export const HARDENING_ADMIN_KEY = 'hardening-admin-key-0123456789abcdef';
export const HARDENING_WEBHOOK_SECRET = 'whsec_hardening_0123456789abcdef';

/**
 * A data directory whose template cache is the run's shared one, so a control plane started on it
 * (in this process or as a child) never synthesizes a template the run has synthesized already.
 */
export function hardeningDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcp-hardening-'));
  const shared = inject('templateCacheDir');
  mkdirSync(shared, { recursive: true });
  symlinkSync(shared, join(dir, 'templates'), 'dir');
  return dir;
}

/** The environment of a child control plane on the test moto with its own table and prefix. */
export function childEnv(dataDir: string, registryTable: string, prefix: string): Record<string, string> {
  return {
    CONTROL_PLANE_DATA_DIR: dataDir,
    AWS_ENDPOINT_URL: testEndpoint(),
    HOST: '127.0.0.1',
    PORT: '0',
    REGISTRY_TABLE: registryTable,
    RESOURCE_PREFIX: prefix,
    STACK_POLL_MS: '50',
    CONTROL_PLANE_ADMIN_KEY: HARDENING_ADMIN_KEY,
    LOG_LEVEL: 'warn',
  };
}

export interface HardenedControlPlane {
  readonly cp: ControlPlane;
  readonly config: Config;
  /** Injects a request into the real API (admin key unless `key` says otherwise; null: none). */
  call(options: InjectOptions & { key?: string | null }): Promise<LightMyRequestResponse>;
  waitForOperation(operationId: string, timeoutMs?: number): Promise<Operation>;
  /** Every audit event of a tenant, oldest first. */
  events(tenantId: string): Promise<AuditEvent[]>;
  /** Items in the registry table (Scan, Select COUNT). */
  countItems(): Promise<number>;
  close(): Promise<void>;
}

/**
 * A whole control plane (API, workflows, engine, platform) as `npm start` builds it, on the test
 * moto, with its own registry table and resource prefix, not listening: requests go through
 * app.inject. `instrument` and `hooks` are the test-only seams of startControlPlane.
 */
export async function startHardenedControlPlane(
  options: {
    overrides?: Partial<Record<keyof Config, unknown>>;
    instrument?: StartOptions['instrument'];
    hooks?: StartOptions['hooks'];
  } = {},
): Promise<HardenedControlPlane> {
  const dataDir = hardeningDataDir();
  const config = loadConfig({
    env: {},
    overrides: {
      awsEndpoint: testEndpoint(),
      registryTable: uniqueName('hardening'),
      resourcePrefix: uniqueName('h'),
      dataDir,
      stackPollMs: 40,
      adminKey: HARDENING_ADMIN_KEY,
      signupWebhookSecret: HARDENING_WEBHOOK_SECRET,
      logLevel: 'silent',
      ...options.overrides,
    },
  });
  const cp = await startControlPlane(config, {
    listen: false,
    ...(options.instrument ? { instrument: options.instrument } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });
  const registry = cp.aws.registry;
  return {
    cp,
    config,
    call({ key, headers, ...rest }) {
      const auth = key === null ? {} : { authorization: `Bearer ${key ?? HARDENING_ADMIN_KEY}` };
      return cp.app.inject({ ...rest, headers: { ...auth, ...headers } });
    },
    async waitForOperation(operationId, timeoutMs = 60_000) {
      return waitForOperation((id) => registry.requireOperation(id), operationId, timeoutMs);
    },
    async events(tenantId) {
      const out: AuditEvent[] = [];
      let cursor: string | undefined;
      do {
        const page = await registry.listEvents(tenantId, { limit: 500, ...(cursor ? { cursor } : {}) });
        out.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      return out;
    },
    async countItems() {
      return countItems(cp.aws.clients.documents, config.registryTable);
    },
    async close() {
      await cp.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function waitForOperation(
  read: (operationId: string) => Promise<Operation>,
  operationId: string,
  timeoutMs = 60_000,
  intervalMs = 50,
): Promise<Operation> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const op = await read(operationId);
    if (op.status === 'SUCCEEDED' || op.status === 'FAILED') return op;
    if (Date.now() > deadline)
      throw new Error(
        `operation ${operationId} still ${op.status} after ${timeoutMs} ms: ${JSON.stringify(op.steps)}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function countItems(
  documents: {
    send(command: ScanCommand): Promise<{ Count?: number; LastEvaluatedKey?: Record<string, unknown> }>;
  },
  tableName: string,
): Promise<number> {
  let total = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await documents.send(
      new ScanCommand({
        TableName: tableName,
        Select: 'COUNT',
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    total += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return total;
}

/** A valid onboarding body for a pool tenant. */
export function onboardBody(slug: string, tier = 'basic'): Record<string, unknown> {
  return { name: `Tenant ${slug}`, slug, tier, adminEmail: `admin@${slug}.example.com` };
}
