import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Config } from '../core/config.js';
import { ControlPlaneError } from '../core/errors.js';
import { randomSecret } from '../core/ids.js';
import { ADMIN_KEY_POINTER, apiKeyKey, apiKeyNameKey } from '../core/registry/keys.js';
import { type Scope, ScopeSchema } from './schemas.js';

/**
 * API keys, in the registry's DynamoDB table (keys: core/registry/keys.ts: the key by its hash, a
 * name claim, the admin-key pointer). Only the SHA-256 of a key is stored, so a leaked table does
 * not leak credentials; keys are random (256 bits), so an unsalted hash is enough.
 */

export interface ApiKeyRecord {
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
}

export const ADMIN_KEY_NAME = 'admin';

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');
/** A new key: a recognisable prefix (secret scanners) and 256 random bits. */
export const newApiKey = (): string => `tcp_${randomSecret(32)}`;

export interface ApiKeyStoreOptions {
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock?: () => Date;
  /**
   * How long a recognised key is remembered in this process (default 30 s), so a request costs
   * no DynamoDB read for its credential. A revoked key stops working within this time.
   */
  readonly cacheTtlMs?: number;
}

const CACHE_MAX_KEYS = 1000;

export class ApiKeyStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: () => Date;

  private readonly cacheTtlMs: number;
  private readonly cache = new Map<string, { record: ApiKeyRecord; until: number }>();

  constructor(options: ApiKeyStoreOptions) {
    this.db = options.documents;
    this.tableName = options.tableName;
    this.clock = options.clock ?? (() => new Date());
    this.cacheTtlMs = options.cacheTtlMs ?? 30_000;
  }

  /** Makes a key with a unique name; the key itself is returned here and never again. */
  async create(name: string, scopes: readonly Scope[]): Promise<{ key: string; record: ApiKeyRecord }> {
    const key = newApiKey();
    const record: ApiKeyRecord = {
      name,
      scopes: [...new Set(scopes)],
      createdAt: this.clock().toISOString(),
    };
    const hash = hashApiKey(key);
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...apiKeyNameKey(name),
                  kind: 'apikey-name',
                  hash,
                  createdAt: record.createdAt,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            { Put: { TableName: this.tableName, Item: this.keyItem(hash, record) } },
          ],
        }),
      );
    } catch (e) {
      if (e instanceof TransactionCanceledException) {
        throw new ControlPlaneError(
          'API_KEY_EXISTS',
          `an API key named "${name}" exists already; choose another name`,
          {
            details: { name },
            cause: e,
          },
        );
      }
      throw e;
    }
    return { key, record };
  }

  /** The key's record, or undefined for a key that is unknown (or was revoked). */
  async find(key: string): Promise<ApiKeyRecord | undefined> {
    const hash = hashApiKey(key);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.record;
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: apiKeyKey(hash) }));
    if (!out.Item) {
      this.cache.delete(hash);
      return undefined;
    }
    const scopes = ScopeSchema.array().safeParse(out.Item.scopes);
    const record: ApiKeyRecord = {
      name: String(out.Item.name),
      scopes: scopes.success ? scopes.data : [],
      createdAt: String(out.Item.createdAt),
    };
    // Only recognised keys are remembered: unknown ones cannot fill the cache.
    if (this.cacheTtlMs > 0) {
      if (this.cache.size >= CACHE_MAX_KEYS) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(hash, { record, until: now + this.cacheTtlMs });
    }
    return record;
  }

  /**
   * Makes `key` the admin key. A different previous admin key is revoked, so rotating
   * CONTROL_PLANE_ADMIN_KEY takes effect at the next start.
   */
  async setAdminKey(key: string): Promise<void> {
    this.cache.clear();
    const hash = hashApiKey(key);
    const pointer = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: ADMIN_KEY_POINTER,
        ConsistentRead: true,
      }),
    );
    const previous = pointer.Item?.hash as string | undefined;
    const createdAt = this.clock().toISOString();
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: this.keyItem(hash, { name: ADMIN_KEY_NAME, scopes: ['admin'], createdAt }),
      }),
    );
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...apiKeyNameKey(ADMIN_KEY_NAME), kind: 'apikey-name', hash, createdAt },
      }),
    );
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...ADMIN_KEY_POINTER, kind: 'apikey-admin', hash },
      }),
    );
    if (previous && previous !== hash) {
      await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: apiKeyKey(previous) }));
    }
  }

  private keyItem(hash: string, record: ApiKeyRecord): Record<string, unknown> {
    return { ...apiKeyKey(hash), kind: 'apikey', ...record, scopes: [...record.scopes] };
  }
}

export interface AdminKey {
  /** The admin key, or null on AWS when none is configured (use JWTs or configure one). */
  readonly key: string | null;
  /** True when this call generated the key: print it once, it is not shown again. */
  readonly generated: boolean;
  /** Where a generated key is kept (local mode), else null. */
  readonly file: string | null;
}

/**
 * The admin key at start-up: CONTROL_PLANE_ADMIN_KEY when set; otherwise, in local mode, the key
 * kept in `<dataDir>/admin-key` (mode 0600), generated on first start. Registers it in the store.
 */
export async function ensureAdminKey(config: Config, store: ApiKeyStore): Promise<AdminKey> {
  if (config.adminKey) {
    await store.setAdminKey(config.adminKey);
    return { key: config.adminKey, generated: false, file: null };
  }
  if (config.target !== 'local') return { key: null, generated: false, file: null };
  const file = join(config.dataDir, 'admin-key');
  let key: string | undefined;
  let generated = false;
  try {
    key = (await readFile(file, 'utf8')).trim() || undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (!key) {
    await mkdir(config.dataDir, { recursive: true });
    try {
      // 'wx': never overwrite a key another process wrote meanwhile; use that one instead.
      const fresh = newApiKey();
      await writeFile(file, `${fresh}\n`, { mode: 0o600, flag: 'wx' });
      key = fresh;
      generated = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      key = (await readFile(file, 'utf8')).trim();
    }
  }
  await chmod(file, 0o600);
  await store.setAdminKey(key);
  return { key, generated, file };
}
