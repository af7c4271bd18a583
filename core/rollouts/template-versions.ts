import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../aws/errors.js';
import { ControlPlaneError } from '../errors.js';
import type { RegistryIo } from '../registry/io.js';
import { nowIso } from '../registry/io.js';
import { TEMPLATE_VERSION_PREFIX, templateLatestKey, templateVersionKey } from '../registry/keys.js';
import { ISOLATIONS, type Isolation, type TemplateVersion, TemplateVersionSchema } from './records.js';

/**
 * Template versions as data: each (isolation, version id) the control plane has deployed, with
 * its body, so a rollout can move stacks to it (or back to it) whatever version the running code
 * synthesizes. A version is registered when a process first synthesizes it (the code's templates
 * changed); `#LATEST` names the code's current one per isolation model.
 */

/** Everything but the body (isolation and bytes are reserved words). */
const PROJECTION = {
  ProjectionExpression: '#i, versionId, sha256, #b, createdAt, codeVersion',
  ExpressionAttributeNames: { '#i': 'isolation', '#b': 'bytes' },
};

export interface VersionBody {
  readonly body: string;
  readonly templateUrl?: string | undefined;
}

/** Bodies kept in memory per process: a rollout reads its one or two versions on every poll. */
const CACHED_BODIES = 16;

export class TemplateVersionStore {
  /**
   * A version's body never changes (its id is the body's hash, and it is written once), so it is
   * read from the registry once per process: every stack-update poll asked for it again.
   */
  private readonly bodies = new Map<string, VersionBody>();

  constructor(private readonly io: RegistryIo) {}

  /** Records the version (once) and makes it the latest of its isolation model. */
  async register(
    isolation: Isolation,
    template: { versionId: string; body: string; templateUrl?: string | undefined },
    codeVersion: string,
  ): Promise<TemplateVersion> {
    const record: TemplateVersion = {
      isolation,
      versionId: template.versionId,
      sha256: createHash('sha256').update(template.body).digest('hex'),
      bytes: Buffer.byteLength(template.body),
      createdAt: nowIso(this.io),
      codeVersion,
    };
    try {
      await this.io.db.send(
        new PutCommand({
          TableName: this.io.tableName,
          Item: {
            ...templateVersionKey(isolation, template.versionId),
            kind: 'template-version',
            ...record,
            body: template.body,
            ...(template.templateUrl ? { templateUrl: template.templateUrl } : {}),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
    await this.io.db.send(
      new PutCommand({
        TableName: this.io.tableName,
        Item: { ...templateLatestKey(isolation), kind: 'template-latest', versionId: template.versionId },
      }),
    );
    return (await this.get(isolation, template.versionId)) ?? record;
  }

  async get(isolation: Isolation, versionId: string): Promise<TemplateVersion | undefined> {
    const out = await this.io.db.send(
      new GetCommand({
        TableName: this.io.tableName,
        Key: templateVersionKey(isolation, versionId),
        ...PROJECTION,
      }),
    );
    return out.Item ? TemplateVersionSchema.parse(out.Item) : undefined;
  }

  /** The body a stack update sends; UNKNOWN_TEMPLATE_VERSION when the version was never registered. */
  async body(isolation: Isolation, versionId: string): Promise<VersionBody> {
    const key = `${isolation}/${versionId}`;
    const cached = this.bodies.get(key);
    if (cached) return cached;
    const out = await this.io.db.send(
      new GetCommand({ TableName: this.io.tableName, Key: templateVersionKey(isolation, versionId) }),
    );
    if (!out.Item || typeof out.Item.body !== 'string')
      throw new ControlPlaneError(
        'UNKNOWN_TEMPLATE_VERSION',
        `no ${isolation} template version ${versionId} is registered`,
      );
    const body = { body: out.Item.body, templateUrl: out.Item.templateUrl as string | undefined };
    if (this.bodies.size >= CACHED_BODIES) this.bodies.delete(this.bodies.keys().next().value!);
    this.bodies.set(key, body);
    return body;
  }

  async latest(isolation: Isolation): Promise<string | undefined> {
    const out = await this.io.db.send(
      new GetCommand({ TableName: this.io.tableName, Key: templateLatestKey(isolation) }),
    );
    return out.Item?.versionId as string | undefined;
  }

  /** Every registered version of every isolation model (without bodies), oldest first. */
  async list(): Promise<TemplateVersion[]> {
    const versions: TemplateVersion[] = [];
    for (const isolation of ISOLATIONS) {
      let start: Record<string, unknown> | undefined;
      do {
        const out = await this.io.db.send(
          new QueryCommand({
            TableName: this.io.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
            ...PROJECTION,
            ExpressionAttributeValues: { ':pk': `TEMPLATE#${isolation}`, ':v': TEMPLATE_VERSION_PREFIX },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) versions.push(TemplateVersionSchema.parse(item));
        start = out.LastEvaluatedKey;
      } while (start);
    }
    return versions.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }
}
