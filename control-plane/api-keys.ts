import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Config } from '../core/config.js';
import { ControlPlaneError } from '../core/errors.js';
import { newEventId, randomSecret } from '../core/ids.js';
import {
  ADMIN_KEY_POINTER,
  API_KEY_AUDIT_PK,
  API_KEY_NAME_PREFIX,
  API_KEY_NAMES_PK,
  apiKeyEventKey,
  apiKeyKey,
  apiKeyNameKey,
  EVENT_PREFIX,
  EVENT_SK_PATTERN,
} from '../core/registry/keys.js';
import { type Scope, ScopeSchema } from './schemas.js';

/**
 * API keys, in the registry's DynamoDB table (keys: core/registry/keys.ts: the key by its hash, a
 * name claim, the admin-key pointer, the audit trail). Only the SHA-256 of a key is stored, so a
 * leaked table does not leak credentials; keys are random (256 bits), so an unsalted hash is enough.
 *
 * The name claim is what the key list reads and what revoke and rotate act on: it points at the
 * current hash and, after a rotation, at the previous one until its overlap ends. Every change is
 * one transaction with its audit event.
 */

export interface ApiKeyRecord {
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
}

/** What the key list shows: never the secret nor its hash. */
export interface ApiKeyInfo extends ApiKeyRecord {
  readonly lastUsedAt?: string;
  readonly rotatedAt?: string;
  /** After a rotation: until when the previous secret still works. */
  readonly previousKeyValidUntil?: string;
}

export type ApiKeyAction = 'created' | 'revoked' | 'rotated' | 'admin-key-replaced';

export interface ApiKeyEvent {
  readonly eventId: string;
  readonly at: string;
  readonly action: ApiKeyAction;
  readonly name: string;
  readonly actor: string;
  readonly scopes?: readonly Scope[];
  readonly detail?: string;
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
   * no DynamoDB read for its credential. A key revoked by another process stops working here
   * within this time (this process's own revocations at once).
   */
  readonly cacheTtlMs?: number;
  /** How long a rotated-out secret keeps working when the caller does not say (default 1 h). */
  readonly rotationOverlapMs?: number;
  /** "Last used" is written at most this often per key (default 60 s): one write a minute, not one a request. */
  readonly lastUsedEveryMs?: number;
}

const CACHE_MAX_KEYS = 1000;

const notFound = (name: string) =>
  new ControlPlaneError('API_KEY_NOT_FOUND', `no API key named "${name}"; tenantctl keys list shows them`, {
    details: { name },
  });

export class ApiKeyStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: () => Date;

  private readonly cacheTtlMs: number;
  private readonly rotationOverlapMs: number;
  private readonly lastUsedEveryMs: number;
  private readonly cache = new Map<string, { record: ApiKeyRecord; until: number }>();
  /** When this process last wrote each key's lastUsedAt (bounded like the cache). */
  private readonly touched = new Map<string, number>();

  constructor(options: ApiKeyStoreOptions) {
    this.db = options.documents;
    this.tableName = options.tableName;
    this.clock = options.clock ?? (() => new Date());
    this.cacheTtlMs = options.cacheTtlMs ?? 30_000;
    this.rotationOverlapMs = options.rotationOverlapMs ?? 3_600_000;
    this.lastUsedEveryMs = options.lastUsedEveryMs ?? 60_000;
  }

  /** Makes a key with a unique name; the key itself is returned here and never again. */
  async create(
    name: string,
    scopes: readonly Scope[],
    actor = 'system',
  ): Promise<{ key: string; record: ApiKeyRecord }> {
    const key = newApiKey();
    const record: ApiKeyRecord = {
      name,
      scopes: [...new Set(scopes)],
      createdAt: this.clock().toISOString(),
    };
    const hash = hashApiKey(key);
    try {
      await this.transact([
        {
          Put: {
            TableName: this.tableName,
            Item: this.nameItem(hash, record),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        { Put: { TableName: this.tableName, Item: this.keyItem(hash, record) } },
        this.eventPut({ action: 'created', name, actor, scopes: record.scopes }),
      ]);
    } catch (e) {
      if (e instanceof TransactionCanceledException) {
        throw new ControlPlaneError(
          'API_KEY_EXISTS',
          `an API key named "${name}" exists already; choose another name (or revoke that one first)`,
          { details: { name }, cause: e },
        );
      }
      throw e;
    }
    return { key, record };
  }

  /** Every key, by name. */
  async list(): Promise<ApiKeyInfo[]> {
    const items: ApiKeyInfo[] = [];
    let after: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: { ':pk': API_KEY_NAMES_PK, ':p': API_KEY_NAME_PREFIX },
          ...(after ? { ExclusiveStartKey: after } : {}),
        }),
      );
      for (const item of out.Items ?? []) items.push(this.infoOf(item));
      after = out.LastEvaluatedKey;
    } while (after);
    return items;
  }

  /** Revokes a key (and a rotated-out secret still in its overlap): both get 401 from now on. */
  async revoke(name: string, actor: string): Promise<ApiKeyInfo> {
    const claim = await this.claimOf(name);
    const hashes = [String(claim.hash), ...(claim.previousHash ? [String(claim.previousHash)] : [])];
    await this.changeClaim(name, [
      {
        Delete: {
          TableName: this.tableName,
          Key: apiKeyNameKey(name),
          ConditionExpression: '#h = :h',
          ExpressionAttributeNames: { '#h': 'hash' },
          ExpressionAttributeValues: { ':h': claim.hash },
        },
      },
      ...hashes.map((h) => ({ Delete: { TableName: this.tableName, Key: apiKeyKey(h) } })),
      this.eventPut({ action: 'revoked', name, actor }),
    ]);
    for (const h of hashes) this.cache.delete(h);
    return this.infoOf(claim);
  }

  /**
   * A new secret for the key; the current one keeps working for `overlapMs` (default: the store's),
   * then only the new one does. A secret still in the overlap of an earlier rotation stops at once.
   */
  async rotate(
    name: string,
    actor: string,
    overlapMs = this.rotationOverlapMs,
  ): Promise<{ key: string; record: ApiKeyInfo }> {
    const claim = await this.claimOf(name);
    const old = String(claim.hash);
    const key = newApiKey();
    const hash = hashApiKey(key);
    const now = this.clock();
    const record: ApiKeyRecord = {
      name,
      scopes: this.infoOf(claim).scopes,
      createdAt: String(claim.createdAt),
    };
    const validUntil = new Date(now.getTime() + overlapMs).toISOString();
    const overlap = overlapMs > 0;
    const earlier = claim.previousHash ? [String(claim.previousHash)] : [];
    await this.changeClaim(name, [
      {
        Put: {
          TableName: this.tableName,
          Item: {
            ...this.nameItem(hash, record),
            rotatedAt: now.toISOString(),
            ...(claim.lastUsedAt ? { lastUsedAt: claim.lastUsedAt } : {}),
            ...(overlap ? { previousHash: old, previousUntil: validUntil } : {}),
          },
          ConditionExpression: '#h = :h',
          ExpressionAttributeNames: { '#h': 'hash' },
          ExpressionAttributeValues: { ':h': old },
        },
      },
      { Put: { TableName: this.tableName, Item: this.keyItem(hash, record) } },
      overlap
        ? {
            Update: {
              TableName: this.tableName,
              Key: apiKeyKey(old),
              UpdateExpression: 'SET validUntil = :u',
              ExpressionAttributeValues: { ':u': validUntil },
            },
          }
        : { Delete: { TableName: this.tableName, Key: apiKeyKey(old) } },
      ...earlier.map((h) => ({ Delete: { TableName: this.tableName, Key: apiKeyKey(h) } })),
      this.eventPut({
        action: 'rotated',
        name,
        actor,
        detail: overlap ? `previous secret valid until ${validUntil}` : 'previous secret revoked at once',
      }),
    ]);
    for (const h of [old, ...earlier]) this.cache.delete(h);
    return {
      key,
      record: {
        ...record,
        rotatedAt: now.toISOString(),
        ...(overlap ? { previousKeyValidUntil: validUntil } : {}),
      },
    };
  }

  /** Key changes, newest first. */
  async events(query: { limit?: number; cursor?: string } = {}): Promise<{
    items: ApiKeyEvent[];
    nextCursor: string | undefined;
  }> {
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 500);
    let start: Record<string, unknown> | undefined;
    if (query.cursor) {
      const sk = Buffer.from(query.cursor, 'base64url').toString('utf8');
      if (!EVENT_SK_PATTERN.test(sk)) {
        throw new ControlPlaneError('VALIDATION_FAILED', 'cursor is not one this API returned', {
          details: [{ path: 'cursor', message: 'an opaque cursor from nextCursor' }],
        });
      }
      start = { pk: API_KEY_AUDIT_PK, sk };
    }
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
        ExpressionAttributeValues: { ':pk': API_KEY_AUDIT_PK, ':e': EVENT_PREFIX },
        ScanIndexForward: false,
        Limit: limit,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const items = (out.Items ?? []).map((i) => {
      const { pk: _pk, sk: _sk, kind: _kind, ...event } = i;
      return event as ApiKeyEvent;
    });
    const last = out.LastEvaluatedKey?.sk;
    return { items, nextCursor: last ? Buffer.from(String(last)).toString('base64url') : undefined };
  }

  /** The key's record, or undefined for a key that is unknown, revoked, or rotated out and past its overlap. */
  async find(key: string): Promise<ApiKeyRecord | undefined> {
    const hash = hashApiKey(key);
    const now = this.clock().getTime();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) {
      await this.touch(hit.record.name, now);
      return hit.record;
    }
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: apiKeyKey(hash) }));
    const validUntil = out.Item?.validUntil ? Date.parse(String(out.Item.validUntil)) : undefined;
    if (!out.Item || (validUntil !== undefined && validUntil <= now)) {
      this.cache.delete(hash);
      return undefined;
    }
    const scopes = ScopeSchema.array().safeParse(out.Item.scopes);
    const record: ApiKeyRecord = {
      name: String(out.Item.name),
      scopes: scopes.success ? scopes.data : [],
      createdAt: String(out.Item.createdAt),
    };
    // Only recognised keys are remembered: unknown ones cannot fill the cache. A rotated-out key
    // is remembered no longer than its overlap.
    if (this.cacheTtlMs > 0) {
      if (this.cache.size >= CACHE_MAX_KEYS) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(hash, { record, until: Math.min(now + this.cacheTtlMs, validUntil ?? Infinity) });
    }
    await this.touch(record.name, now);
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
    const record: ApiKeyRecord = {
      name: ADMIN_KEY_NAME,
      scopes: ['admin'],
      createdAt: this.clock().toISOString(),
    };
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: this.keyItem(hash, record) }));
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: this.nameItem(hash, record) }));
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...ADMIN_KEY_POINTER, kind: 'apikey-admin', hash },
      }),
    );
    if (previous && previous !== hash) {
      await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: apiKeyKey(previous) }));
      await this.transact([
        this.eventPut({ action: 'admin-key-replaced', name: ADMIN_KEY_NAME, actor: 'system' }),
      ]);
    }
  }

  /** The name claim of a key that may be changed through the API. */
  private async claimOf(name: string): Promise<Record<string, unknown>> {
    if (name === ADMIN_KEY_NAME) {
      throw new ControlPlaneError(
        'API_KEY_MANAGED',
        'the admin key is set by configuration: change CONTROL_PLANE_ADMIN_KEY (or <data-dir>/admin-key) and restart',
        { details: { name } },
      );
    }
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: apiKeyNameKey(name), ConsistentRead: true }),
    );
    if (!out.Item) throw notFound(name);
    return out.Item;
  }

  /** A change conditioned on the claim being as read: a concurrent revoke or rotate loses cleanly. */
  private async changeClaim(name: string, items: TransactItem[]): Promise<void> {
    try {
      await this.transact(items);
    } catch (e) {
      if (e instanceof TransactionCanceledException) {
        throw new ControlPlaneError(
          'API_KEY_NOT_FOUND',
          `API key "${name}" was revoked or rotated meanwhile; list the keys and retry`,
          { details: { name }, cause: e },
        );
      }
      throw e;
    }
  }

  /** Writes lastUsedAt at most once per `lastUsedEveryMs` per key, across processes (the condition). */
  private async touch(name: string, now: number): Promise<void> {
    const last = this.touched.get(name);
    if (last !== undefined && now - last < this.lastUsedEveryMs) return;
    if (this.touched.size >= CACHE_MAX_KEYS) this.touched.delete(this.touched.keys().next().value as string);
    this.touched.set(name, now);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: apiKeyNameKey(name),
          UpdateExpression: 'SET lastUsedAt = :now',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :cutoff)',
          ExpressionAttributeValues: {
            ':now': new Date(now).toISOString(),
            ':cutoff': new Date(now - this.lastUsedEveryMs).toISOString(),
          },
        }),
      );
    } catch {
      // Best effort: "last used" must never fail a request (condition lost to another process, throttling).
    }
  }

  private transact(items: TransactItem[]): Promise<unknown> {
    return this.db.send(new TransactWriteCommand({ TransactItems: items }));
  }

  private eventPut(e: Omit<ApiKeyEvent, 'eventId' | 'at'>): TransactItem {
    const eventId = newEventId();
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          ...apiKeyEventKey(eventId),
          kind: 'apikey-event',
          eventId,
          at: this.clock().toISOString(),
          ...e,
          ...(e.scopes ? { scopes: [...e.scopes] } : {}),
        },
      },
    };
  }

  private infoOf(item: Record<string, unknown>): ApiKeyInfo {
    const scopes = ScopeSchema.array().safeParse(item.scopes);
    const previousUntil = item.previousUntil ? String(item.previousUntil) : undefined;
    return {
      name: String(item.name),
      scopes: scopes.success ? scopes.data : [],
      createdAt: String(item.createdAt),
      ...(item.lastUsedAt ? { lastUsedAt: String(item.lastUsedAt) } : {}),
      ...(item.rotatedAt ? { rotatedAt: String(item.rotatedAt) } : {}),
      ...(previousUntil && Date.parse(previousUntil) > this.clock().getTime()
        ? { previousKeyValidUntil: previousUntil }
        : {}),
    };
  }

  private nameItem(hash: string, record: ApiKeyRecord): Record<string, unknown> {
    return {
      ...apiKeyNameKey(record.name),
      kind: 'apikey-name',
      hash,
      ...record,
      scopes: [...record.scopes],
    };
  }

  private keyItem(hash: string, record: ApiKeyRecord): Record<string, unknown> {
    return { ...apiKeyKey(hash), kind: 'apikey', ...record, scopes: [...record.scopes] };
  }
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

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
