import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ControlPlaneError, describeError } from '../core/errors.js';
import { TEMPLATE_BODY_LIMIT, TEMPLATE_CODE_VERSION, TEMPLATE_OBJECT_PREFIX } from './constants.js';
import { adaptTemplateForEmulator } from './emulator.js';
import {
  type CfnTemplate,
  type SynthesizedTemplate,
  TEMPLATE_KINDS,
  TEMPLATE_TARGETS,
  type TemplateKind,
  type TemplateTarget,
} from './types.js';

const CDK_VERSION: string = createRequire(import.meta.url)('aws-cdk-lib/package.json').version;

export interface SynthesisServiceOptions {
  /** Where synthesized templates are kept between runs (the control plane passes `<dataDir>/templates`). */
  readonly cacheDir: string;
  /** With `bucket`: publish every template to the artifact bucket. */
  readonly s3?: S3Client;
  readonly bucket?: string;
  /** Bodies above this many bytes are handed out as a TemplateURL. @default 51,200 (CloudFormation's limit) */
  readonly bodyLimit?: number;
  /** Produces the AWS template of a kind. @default in-process CDK synthesis */
  readonly synthesize?: (kind: TemplateKind) => CfnTemplate;
}

interface CacheEntry {
  readonly kind: TemplateKind;
  readonly target: TemplateTarget;
  readonly versionId: string;
  readonly body: string;
  readonly parameterNames: string[];
}

/** First 12 hex digits of the body's sha256: the template version id. */
export function templateVersionId(body: string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 12);
}

/**
 * Hands out each (kind, target) template, synthesizing it with aws-cdk-lib once per code version:
 * in memory after the first request, on disk across restarts (keyed by TEMPLATE_CODE_VERSION and
 * the CDK version, so stale caches are never reused), optionally published to the artifact bucket.
 * Concurrent requests share one synthesis.
 */
export class SynthesisService {
  private readonly options: SynthesisServiceOptions;
  private readonly resolved = new Map<string, Promise<SynthesizedTemplate>>();
  private readonly awsTemplates = new Map<TemplateKind, Promise<CfnTemplate>>();
  private synths = 0;

  constructor(options: SynthesisServiceOptions) {
    if ((options.s3 === undefined) !== (options.bucket === undefined)) {
      throw new ControlPlaneError('INTERNAL', 'SynthesisService: give both s3 and bucket, or neither');
    }
    this.options = options;
  }

  /** How many CDK syntheses this service ran. */
  get synthCount(): number {
    return this.synths;
  }

  /** The directory this code version's templates are cached in. */
  get cacheDirectory(): string {
    return join(this.options.cacheDir, `${TEMPLATE_CODE_VERSION}-cdk${CDK_VERSION}`);
  }

  resolve(kind: TemplateKind, target: TemplateTarget): Promise<SynthesizedTemplate> {
    if (!TEMPLATE_KINDS.includes(kind)) {
      return Promise.reject(
        new ControlPlaneError(
          'INVALID_PARAMETER',
          `kind: got ${JSON.stringify(kind)}; accepted: ${TEMPLATE_KINDS.join(', ')}`,
        ),
      );
    }
    if (!TEMPLATE_TARGETS.includes(target)) {
      return Promise.reject(
        new ControlPlaneError(
          'INVALID_PARAMETER',
          `target: got ${JSON.stringify(target)}; accepted: ${TEMPLATE_TARGETS.join(', ')}`,
        ),
      );
    }
    const key = `${kind}.${target}`;
    let pending = this.resolved.get(key);
    if (!pending) {
      pending = this.load(kind, target);
      this.resolved.set(key, pending);
      // A failure is not cached: the next request tries again.
      pending.catch(() => this.resolved.delete(key));
    }
    return pending;
  }

  private async load(kind: TemplateKind, target: TemplateTarget): Promise<SynthesizedTemplate> {
    const entry = (await this.readCache(kind, target)) ?? (await this.build(kind, target));
    const bytes = Buffer.byteLength(entry.body);
    const url = this.options.s3 ? await this.publish(entry) : undefined;
    const limit = this.options.bodyLimit ?? TEMPLATE_BODY_LIMIT;
    return {
      kind,
      target,
      versionId: entry.versionId,
      body: entry.body,
      bytes,
      parameterNames: entry.parameterNames,
      ...(url && bytes > limit ? { templateUrl: url } : {}),
    };
  }

  private async build(kind: TemplateKind, target: TemplateTarget): Promise<CacheEntry> {
    const aws = await this.awsTemplate(kind);
    const template = target === 'moto' ? adaptTemplateForEmulator(aws).template : aws;
    const body = JSON.stringify(template);
    const entry: CacheEntry = {
      kind,
      target,
      versionId: templateVersionId(body),
      body,
      parameterNames: Object.keys(template.Parameters ?? {}),
    };
    await this.writeCache(entry);
    return entry;
  }

  /** The kind's AWS template: from the disk cache, else synthesized (once, however many ask). */
  private awsTemplate(kind: TemplateKind): Promise<CfnTemplate> {
    let pending = this.awsTemplates.get(kind);
    if (!pending) {
      pending = (async () => {
        const cached = await this.readCache(kind, 'aws');
        if (cached) return JSON.parse(cached.body) as CfnTemplate;
        this.synths += 1;
        try {
          // aws-cdk-lib loads only when a template must be synthesized: with a warm cache (the
          // task Lambda ships one) the process never pays for it.
          const synthesize =
            this.options.synthesize ?? (await import('./stacks/synthesize.js')).synthesizeTemplate;
          return synthesize(kind);
        } catch (e) {
          throw new ControlPlaneError(
            'INTERNAL',
            `synthesizing the ${kind} template failed: ${describeError(e)}`,
            { cause: e },
          );
        }
      })();
      this.awsTemplates.set(kind, pending);
      pending.catch(() => this.awsTemplates.delete(kind));
    }
    return pending;
  }

  private cacheFile(kind: TemplateKind, target: TemplateTarget): string {
    return join(this.cacheDirectory, `${kind}.${target}.json`);
  }

  /** A cached entry, or undefined when missing, unreadable or not matching its own hash. */
  private async readCache(kind: TemplateKind, target: TemplateTarget): Promise<CacheEntry | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.cacheFile(kind, target), 'utf8')) as CacheEntry;
      const intact =
        entry.kind === kind &&
        entry.target === target &&
        typeof entry.body === 'string' &&
        templateVersionId(entry.body) === entry.versionId;
      return intact ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  /** Write-then-rename, so a crash or a second process never leaves a half-written file. */
  private async writeCache(entry: CacheEntry): Promise<void> {
    const file = this.cacheFile(entry.kind, entry.target);
    await mkdir(this.cacheDirectory, { recursive: true });
    const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify(entry));
    await rename(temporary, file);
  }

  /** Puts the template at `templates/<kind>/<target>/<versionId>.json` once; returns its URL. */
  private async publish(entry: CacheEntry): Promise<string> {
    const s3 = this.options.s3 as S3Client;
    const bucket = this.options.bucket as string;
    const key = `${TEMPLATE_OBJECT_PREFIX}/${entry.kind}/${entry.target}/${entry.versionId}.json`;
    try {
      const exists = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
        () => true,
        (e: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
          if (e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return false;
          throw e;
        },
      );
      if (!exists) {
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: entry.body,
            ContentType: 'application/json',
          }),
        );
      }
    } catch (e) {
      throw new ControlPlaneError(
        'AWS_ERROR',
        `publishing template ${key} to bucket ${bucket} failed: ${describeError(e)}`,
        { cause: e },
      );
    }
    const region = await s3.config.region();
    return `https://${bucket}.s3.${region}.amazonaws.com/${key}`;
  }
}
