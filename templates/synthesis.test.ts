import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { testClients, uniqueName } from '../test/support/aws.js';
import { TEMPLATE_CODE_VERSION } from './constants.js';
import { TEMPLATE_PARAMETERS } from './parameter-specs.js';
import { SynthesisService } from './synthesis.js';
import type { CfnTemplate } from './types.js';

const dirs: string[] = [];
const cacheDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcp-synth-cache-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A stand-in for CDK synthesis where the test is about caching, not templates. */
const fakeSynth = (extra = '') => {
  const calls: string[] = [];
  const synthesize = (kind: string): CfnTemplate => {
    calls.push(kind);
    return {
      Parameters: { TemplateVersion: { Type: 'String' } },
      Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { Tag: `${kind}${extra}` } } },
    };
  };
  return { calls, synthesize };
};

describe('SynthesisService with CDK', () => {
  const service = new SynthesisService({ cacheDir: cacheDir() });

  it('synthesizes once for 100 concurrent requests of the same template', async () => {
    const all = await Promise.all(Array.from({ length: 100 }, () => service.resolve('pool', 'aws')));
    expect(service.synthCount).toBe(1);
    expect(new Set(all.map((t) => t.versionId)).size).toBe(1);
    const [first] = all;
    expect(first?.versionId).toBe(
      createHash('sha256')
        .update(first?.body ?? '')
        .digest('hex')
        .slice(0, 12),
    );
    expect(first?.bytes).toBe(Buffer.byteLength(first?.body ?? ''));
    expect(first?.parameterNames).toEqual([...TEMPLATE_PARAMETERS.pool]);
    expect(first?.templateUrl).toBeUndefined();
  });

  it('derives the moto template from the same synthesis, as a different version', async () => {
    const [aws, moto] = await Promise.all([service.resolve('pool', 'aws'), service.resolve('pool', 'moto')]);
    expect(service.synthCount).toBe(1);
    expect(moto.versionId).not.toBe(aws.versionId);
    expect(JSON.parse(moto.body).Metadata['tcp:emulator']).toBeDefined();
  });
});

describe('SynthesisService cache', () => {
  it('reuses the disk cache of an earlier run, under a directory named for the code version', async () => {
    const dir = cacheDir();
    const first = fakeSynth();
    const a = await new SynthesisService({ cacheDir: dir, synthesize: first.synthesize }).resolve(
      'silo',
      'aws',
    );
    const second = fakeSynth();
    const restarted = new SynthesisService({ cacheDir: dir, synthesize: second.synthesize });
    const b = await restarted.resolve('silo', 'aws');
    expect(b).toEqual(a);
    expect(restarted.synthCount).toBe(0);
    expect(second.calls).toEqual([]);
    expect(readdirSync(dir)).toEqual([
      expect.stringMatching(new RegExp(`^${TEMPLATE_CODE_VERSION.replaceAll('.', '\\.')}-cdk2\\.`)),
    ]);
  });

  it('ignores a cache entry whose body does not match its version id', async () => {
    const dir = cacheDir();
    const service = new SynthesisService({ cacheDir: dir, synthesize: fakeSynth().synthesize });
    const good = await service.resolve('bridge', 'aws');
    writeFileSync(
      join(service.cacheDirectory, 'bridge.aws.json'),
      JSON.stringify({ ...good, body: '{"tampered":true}' }),
    );
    const again = new SynthesisService({ cacheDir: dir, synthesize: fakeSynth().synthesize });
    expect((await again.resolve('bridge', 'aws')).body).toBe(good.body);
    expect(again.synthCount).toBe(1);
  });

  it('does not cache a failure: the next request synthesizes again', async () => {
    let calls = 0;
    const service = new SynthesisService({
      cacheDir: cacheDir(),
      synthesize: (kind) => {
        calls += 1;
        if (calls === 1) throw new Error('out of memory');
        return fakeSynth().synthesize(kind);
      },
    });
    await expect(service.resolve('pool', 'aws')).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringContaining('out of memory'),
    });
    await expect(service.resolve('pool', 'aws')).resolves.toMatchObject({ kind: 'pool', target: 'aws' });
    expect(service.synthCount).toBe(2);
  });

  it('rejects an unknown kind or target', async () => {
    const service = new SynthesisService({ cacheDir: cacheDir(), synthesize: fakeSynth().synthesize });
    await expect(service.resolve('hybrid' as never, 'aws')).rejects.toMatchObject({
      code: 'INVALID_PARAMETER',
    });
    await expect(service.resolve('pool', 'gcp' as never)).rejects.toMatchObject({
      code: 'INVALID_PARAMETER',
    });
  });
});

describe('SynthesisService publishing (moto S3)', () => {
  const clients = testClients();
  afterAll(() => clients.destroy());

  it('publishes each template once and hands out a TemplateURL only above the body limit', async () => {
    const bucket = uniqueName('tcp-artifacts');
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const { synthesize } = fakeSynth();
    const small = await new SynthesisService({
      cacheDir: cacheDir(),
      s3: clients.s3,
      bucket,
      synthesize,
    }).resolve('pool', 'aws');
    expect(small.templateUrl).toBeUndefined();
    const key = `templates/pool/aws/${small.versionId}.json`;
    const stored = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await stored.Body?.transformToString()).toBe(small.body);

    const large = await new SynthesisService({
      cacheDir: cacheDir(),
      s3: clients.s3,
      bucket,
      synthesize,
      bodyLimit: 10,
    }).resolve('pool', 'aws');
    expect(large.templateUrl).toBe(`https://${bucket}.s3.us-east-1.amazonaws.com/${key}`);
  });

  it('needs both an S3 client and a bucket', () => {
    expect(() => new SynthesisService({ cacheDir: cacheDir(), s3: clients.s3 })).toThrow(
      /both s3 and bucket/,
    );
  });
});
