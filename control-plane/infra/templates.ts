import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import {
  SynthesisService,
  type SynthesizedTemplate,
  TEMPLATE_KINDS,
  type TemplateKind,
} from '../../templates/index.js';

const CDK_VERSION: string = createRequire(import.meta.url)('aws-cdk-lib/package.json').version;

/**
 * The templates, synthesized at CDK synth time with the very SynthesisService the task function
 * runs, so the function finds every template in its cache and never loads aws-cdk-lib.
 */
export interface PreparedTemplates {
  /** The platform's AWS template, deployed by the platform stack. */
  readonly platform: SynthesizedTemplate;
  /** The AWS template of each kind prepared: all four for a bundled task function. */
  readonly templates: Readonly<Partial<Record<TemplateKind, SynthesizedTemplate>>>;
  /** SynthesisService's versioned cache directory holding `<kind>.aws.json`. */
  readonly cacheDirectory: string;
  /** The aws-cdk-lib version the templates were synthesized with (part of the cache key). */
  readonly cdkVersion: string;
}

/**
 * Synthesizes (or finds in `cacheDir`) the AWS template of each kind. The task bundle needs all of
 * them; stub-code synthesis (tests) needs only the platform's.
 */
export async function prepareTemplates(
  cacheDir: string,
  kinds: readonly TemplateKind[] = TEMPLATE_KINDS,
): Promise<PreparedTemplates> {
  const synth = new SynthesisService({ cacheDir });
  const wanted = [...new Set<TemplateKind>(['platform', ...kinds])];
  const entries = await Promise.all(
    wanted.map(async (kind) => [kind, await synth.resolve(kind, 'aws')] as const),
  );
  const templates: Partial<Record<TemplateKind, SynthesizedTemplate>> = Object.fromEntries(entries);
  return {
    platform: templates.platform!,
    templates,
    cacheDirectory: synth.cacheDirectory,
    cdkVersion: CDK_VERSION,
  };
}

/** Directory in the task bundle (under /var/task) that TEMPLATE_CACHE_DIR names. */
export const BUNDLED_TEMPLATE_CACHE = 'templates-cache';
/** File in both bundles that TIER_CATALOG_FILE names when a custom catalog is deployed. */
export const BUNDLED_TIER_CATALOG = 'tiers.json';

/**
 * Writes the files the task bundle carries besides the code into `dir`:
 * - `templates-cache/<code version>-cdk<version>/<kind>.aws.json`, SynthesisService's cache layout;
 * - `node_modules/aws-cdk-lib/package.json` holding only name and version: SynthesisService reads
 *   the version for its cache key when it loads, and aws-cdk-lib itself is left out of the bundle;
 * - `tiers.json` when a custom tier catalog is deployed.
 * afterBundling copies the directory's content next to index.mjs.
 */
export function stageTaskFiles(dir: string, prepared: PreparedTemplates, tierCatalogFile?: string): string {
  // Fresh each time: a template cache of an older code version must not ride along.
  rmSync(dir, { recursive: true, force: true });
  const cache = join(dir, BUNDLED_TEMPLATE_CACHE, basename(prepared.cacheDirectory));
  mkdirSync(cache, { recursive: true });
  for (const kind of TEMPLATE_KINDS) {
    if (!prepared.templates[kind])
      throw new Error(
        `the task bundle needs every template; ${kind} was not prepared (prepareTemplates kinds)`,
      );
    const file = `${kind}.aws.json`;
    copyFileSync(join(prepared.cacheDirectory, file), join(cache, file));
  }
  stageCdkVersion(dir, prepared.cdkVersion);
  if (tierCatalogFile) copyFileSync(tierCatalogFile, join(dir, BUNDLED_TIER_CATALOG));
  return dir;
}

/**
 * `node_modules/aws-cdk-lib/package.json` holding only name and version, in both bundles: both run
 * buildRuntime, whose SynthesisService reads the version for its cache key when it loads, and
 * aws-cdk-lib itself is left out of the bundles.
 */
export function stageCdkVersion(dir: string, cdkVersion: string = CDK_VERSION): void {
  const cdkPackage = join(dir, 'node_modules', 'aws-cdk-lib');
  mkdirSync(cdkPackage, { recursive: true });
  writeFileSync(
    join(cdkPackage, 'package.json'),
    `${JSON.stringify({ name: 'aws-cdk-lib', version: cdkVersion })}\n`,
  );
}

/** The platform template as a file, for CfnInclude. */
export function writePlatformTemplate(dir: string, prepared: PreparedTemplates): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `platform.${prepared.platform.versionId}.template.json`);
  writeFileSync(file, prepared.platform.body);
  return file;
}
