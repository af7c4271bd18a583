import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { ApiKeyStore, type ApiKeyStoreOptions, ensureAdminKey } from '../../control-plane/api-keys.js';
import { type AppDeps, buildApp } from '../../control-plane/app.js';
import type { Scope } from '../../control-plane/schemas.js';
import { type Config, loadConfig } from '../../core/config.js';
import { costExplorerSource } from '../../core/costs/cost-explorer.js';
import { ControlPlaneError } from '../../core/errors.js';
import type { QuotaService } from '../../core/quotas/service.js';
import type { Registry } from '../../core/registry/registry.js';
import { describeRegistryTable } from '../../core/registry/table.js';
import { acmCertificates } from '../../core/tenant-config/certificates.js';
import { TenantConfigStore } from '../../core/tenant-config/store.js';
import { UsageStore } from '../../core/usage/store.js';
import { CredentialVendor, registryDirectory } from '../../tenant-access/index.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { createQuotaService, regionalQuotaServices, TenantUsers } from '../../workflows/index.js';
import type { LifecycleService } from '../../workflows/service.js';
import { testClients, testEndpoint, testRegistry } from '../support/aws.js';
import { RegistryOnlyLifecycle } from './registry-only-lifecycle.js';

export const WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';
/** Fixed, so that apps sharing a registry table share the admin key (a new one revokes the old). */
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly registry: Registry;
  readonly apiKeys: ApiKeyStore;
  readonly catalog: TierCatalog;
  readonly quotas: QuotaService;
  readonly adminKey: string;
  /** A new API key with these scopes (named uniquely). */
  keyWith(scopes: Scope[], name?: string): Promise<string>;
  /** Injects a request, as admin unless `key` says otherwise (`null`: no credential). */
  call(options: InjectOptions & { key?: string | null }): Promise<LightMyRequestResponse>;
  /** Items in the registry table (a Scan), to prove a refused request wrote nothing. */
  countItems(): Promise<number>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly overrides?: Partial<Record<keyof Config, unknown>>;
  readonly lifecycle?: (registry: Registry, catalog: TierCatalog, quotas: QuotaService) => LifecycleService;
  /** The tier catalog the app serves (default: the shipped one). */
  readonly catalog?: TierCatalog;
  /** Reuse a registry (and its table) across apps. */
  readonly registry?: Registry;
  /** API key store options (an injected clock, the rotation overlap). */
  readonly apiKeys?: Partial<Omit<ApiKeyStoreOptions, 'documents' | 'tableName'>>;
  readonly deps?: Partial<
    Pick<
      AppDeps,
      | 'clock'
      | 'jwtVerifier'
      | 'idempotencyWaitMs'
      | 'health'
      | 'metrics'
      | 'logger'
      | 'exports'
      | 'tenantConfig'
      | 'revenue'
      | 'billingAccounts'
      | 'events'
      | 'rollouts'
      | 'access'
    >
  >;
}

let counter = 0;

/** The API on the test moto: its own registry table, the real registry, no workflows. */
/** startTestApp, listening on a free loopback port: for tenantctl and other HTTP clients. */
export async function startListeningTestApp(
  options: TestAppOptions = {},
): Promise<{ readonly t: TestApp; readonly url: string }> {
  const t = await startTestApp(options);
  return { t, url: await t.app.listen({ host: '127.0.0.1', port: 0 }) };
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const clients = testClients();
  const registry = options.registry ?? (await testRegistry(clients));
  const overrides: Partial<Record<keyof Config, unknown>> = {
    awsEndpoint: testEndpoint(),
    registryTable: registry.tableName,
    dataDir: mkdtempSync(join(tmpdir(), 'tcp-api-')),
    signupWebhookSecret: WEBHOOK_SECRET,
    adminKey: ADMIN_KEY,
    logLevel: 'silent',
    // Quota pre-checks read the whole shared moto; the tests of them turn them on.
    quotaPrecheck: false,
  };
  // An override given as undefined removes the harness default (e.g. no webhook secret).
  for (const [k, v] of Object.entries(options.overrides ?? {})) {
    if (v === undefined) delete overrides[k as keyof Config];
    else overrides[k as keyof Config] = v;
  }
  const config = loadConfig({ env: {}, overrides });
  const catalog = options.catalog ?? TierCatalog.load();
  const apiKeys = new ApiKeyStore({
    documents: clients.documents,
    tableName: registry.tableName,
    ...options.apiKeys,
  });
  const admin = await ensureAdminKey(config, apiKeys);
  const quotas = createQuotaService(config, { clients, registry }, catalog);
  const app = await buildApp({
    config,
    registry,
    catalog,
    lifecycle: options.lifecycle
      ? options.lifecycle(registry, catalog, quotas)
      : new RegistryOnlyLifecycle(registry, catalog, quotas),
    apiKeys,
    tenantConfig: new TenantConfigStore({
      documents: clients.documents,
      tableName: registry.tableName,
      registry,
      tierDefaults: (tier) => catalog.features(tier),
      certificates: acmCertificates({ acm: clients.acm, describeBackoffMs: 20 }),
    }),
    quotas,
    quotasIn: regionalQuotaServices(config, { clients, registry }, catalog, quotas),
    usage: new UsageStore({
      db: clients.documents,
      tableName: registry.tableName,
      clock: options.deps?.clock ?? (() => new Date()),
    }),
    costs: costExplorerSource(clients.costExplorer),
    health: async () => ({
      awsEndpoint: testEndpoint(),
      registry: {
        table: registry.tableName,
        status: await describeRegistryTable(clients.dynamodb, registry.tableName),
      },
    }),
    // Every route is served (OpenAPI, strict queries, bad input cover them); no platform here, so
    // a user call that gets past its checks fails loudly (control-plane/routes/tenant-users.test.ts
    // runs them on a real platform).
    access: {
      users: new TenantUsers({
        registry,
        cognito: clients.cognito,
        userPoolId: async () => {
          throw new ControlPlaneError('AWS_ERROR', 'the API harness has no tenant user pool');
        },
      }),
      credentials: new CredentialVendor({ sts: clients.sts, directory: registryDirectory(registry) }),
    },
    ...options.deps,
  });
  await app.ready();
  return {
    app,
    config,
    registry,
    apiKeys,
    catalog,
    quotas,
    adminKey: admin.key!,
    async keyWith(scopes, name) {
      counter += 1;
      return (await apiKeys.create(name ?? `test-${process.pid}-${counter}-${Date.now()}`, scopes)).key;
    },
    call({ key, headers, ...rest }) {
      const auth = key === null ? {} : { authorization: `Bearer ${key ?? admin.key}` };
      return app.inject({ ...rest, headers: { ...auth, ...headers } });
    },
    async countItems() {
      const out = await clients.documents.send(
        new ScanCommand({ TableName: registry.tableName, Select: 'COUNT', ConsistentRead: true }),
      );
      return out.Count ?? 0;
    },
    async close() {
      await app.close();
      clients.destroy();
    },
  };
}

/** A valid onboarding body with a unique slug. */
export function tenantBody(slug: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: `Tenant ${slug}`, slug, tier: 'basic', adminEmail: `admin@${slug}.example.com`, ...extra };
}
