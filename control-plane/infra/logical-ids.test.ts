import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CfnTemplate } from '../../templates/index.js';
import { buildInfra, synthesizeInfra } from './infra.js';
import { settingsFromValues } from './settings.js';
import { prepareTemplates } from './templates.js';

/**
 * CloudFormation replaces a resource whose logical id changes: a renamed registry table or user
 * pool would be a new, empty one. logical-ids.json pins every logical id (and type) the two stacks
 * had when ControlPlaneStack was split into constructs; an id may only change here on purpose,
 * with the migration it needs. The control-plane stack's set is exact (a new resource is added to
 * the file); the platform stack's ids come from the platform template and may grow.
 */

interface Pinned {
  readonly Platform: Record<string, string>;
  readonly PlatformOutputs: string[];
  readonly ControlPlane: Record<string, string>;
  readonly ControlPlaneOutputs: string[];
}
const pinned: Pinned = JSON.parse(readFileSync(new URL('./logical-ids.json', import.meta.url), 'utf8'));

const outdir = mkdtempSync(join(tmpdir(), 'tcp-infra-ids-'));
let controlPlane: CfnTemplate;
let platform: CfnTemplate;

beforeAll(async () => {
  // The settings the ids were pinned with: every optional resource present (alarm e-mail).
  const settings = settingsFromValues({
    prefix: 'acme',
    bundling: 'prebuilt-stub',
    templateCacheDir: inject('templateCacheDir'),
    alarmEmail: 'ops@example.com',
  });
  const templates = await prepareTemplates(settings.templateCacheDir, ['platform']);
  const infra = buildInfra({
    app: new App({ outdir, builtinCloudFormationValidation: false }),
    settings,
    templates,
  });
  ({ controlPlane, platform } = synthesizeInfra(infra));
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const types = (template: CfnTemplate) =>
  Object.fromEntries(Object.entries(template.Resources).map(([id, r]) => [id, r.Type]));

describe('logical ids', () => {
  it('the control-plane stack has exactly the pinned resources and outputs', () => {
    expect(types(controlPlane)).toEqual(pinned.ControlPlane);
    expect(Object.keys(controlPlane.Outputs ?? {}).sort()).toEqual(pinned.ControlPlaneOutputs);
  });

  it('the platform stack keeps every pinned resource and output', () => {
    expect(types(platform)).toMatchObject(pinned.Platform);
    expect(Object.keys(platform.Outputs ?? {})).toEqual(expect.arrayContaining(pinned.PlatformOutputs));
  });
});
