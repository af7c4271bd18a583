import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { ExportManifest } from '../../core/tenant-data/layout.js';
import type { ParsedCommand } from './args.js';
import { ApiError } from './client.js';
import type { CommandEnv } from './commands.js';

/**
 * `tenantctl export <tenant> [--out DIR]`: the tenant's latest data export, through the API (never
 * S3 directly). Without --out it prints the manifest; with it, it writes manifest.json, every part
 * (checked against the manifest's sha256) and every object the objects parts list.
 */

interface ExportAnswer {
  readonly manifest: ExportManifest;
  readonly files: readonly { name: string; href: string }[];
}

const fmt = (n: number) => n.toLocaleString('en-US');

function summary(m: ExportManifest): string {
  return [
    `export ${m.operationId} of ${m.tenantId}`,
    `  created   ${m.created}`,
    `  expires   ${m.expiresAt} (${m.retentionDays} days)`,
    `  items     ${fmt(m.counts.items)} (${fmt(m.sizes.itemBytes)} bytes)`,
    `  objects   ${fmt(m.counts.objects)} (${fmt(m.sizes.objectBytes)} bytes)`,
    `  parts     ${m.parts.map((p) => p.name).join(', ') || 'none'}`,
    `  location  s3://${m.location.bucket}/${m.location.prefix}`,
    '',
  ].join('\n');
}

/** A path inside `dir`, or an error: a listed key never writes outside the output directory. */
function inside(dir: string, relative: string): string {
  const root = resolve(dir);
  const target = resolve(root, relative);
  if (!target.startsWith(root + sep))
    throw new ApiError('EXPORT_CORRUPT', `refusing to write ${relative} outside ${root}`, 0);
  return target;
}

async function write(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

export async function exportCommand(env: CommandEnv, cmd: ParsedCommand): Promise<number> {
  const tenant = encodeURIComponent(cmd.positionals[0] ?? '');
  const answer = await env.client.request<ExportAnswer>('GET', `/v1/tenants/${tenant}/export`);
  const { manifest } = answer;
  const out = typeof cmd.options.out === 'string' ? cmd.options.out : undefined;
  if (!out) {
    if (env.json) env.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
    else env.stdout.write(summary(manifest));
    return 0;
  }
  const file = (path: string) => env.client.download(`/v1/tenants/${tenant}/export/file`, { path });
  await mkdir(out, { recursive: true });
  await write(join(out, 'manifest.json'), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
  let objects = 0;
  for (const part of manifest.parts) {
    const bytes = await file(part.name);
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== part.sha256)
      throw new ApiError(
        'EXPORT_CORRUPT',
        `${part.name}: sha256 ${sha} does not match the manifest's ${part.sha256}`,
        0,
      );
    await write(inside(out, part.name), bytes);
    if (part.kind !== 'objects') continue;
    for (const line of Buffer.from(bytes).toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const { key } = JSON.parse(line) as { key: string };
      const path = `objects/${key}`;
      await write(inside(out, path), await file(path));
      objects++;
    }
  }
  if (env.json) env.stdout.write(`${JSON.stringify({ out: resolve(out), manifest }, null, 2)}\n`);
  else
    env.stdout.write(
      `${summary(manifest)}wrote manifest.json, ${manifest.parts.length} parts and ${objects} objects to ${resolve(out)}\n`,
    );
  return 0;
}
