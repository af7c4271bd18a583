import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/**
 * The web console's assets, bundled in memory by esbuild's JS API from control-plane/console/app
 * (preact, TSX). Built when the server starts (and on first use in tests), so there is no build
 * command to forget and no bundle on disk to go stale: the served code is always the source's.
 * Every asset is served by the control plane itself; the page loads nothing from elsewhere.
 */

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

export interface ConsoleAssets {
  /** The page (no-cache): it names the content-hashed assets below. */
  readonly index: Asset;
  /** By file name, e.g. `app-3F2A….js`: immutable, their names change with their content. */
  readonly files: ReadonlyMap<string, Asset>;
}

/** The app's sources: resolved when building (a bundled Lambda, which serves no console, never asks). */
const appDir = () => fileURLToPath(new URL('./app/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The content security policy of every console response: only this origin, no inline code. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function page(script: string, style: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Tenant control plane</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/${style}">
</head>
<body>
<div id="app"></div>
<noscript>The console needs JavaScript. The API is documented at <a href="/docs">/docs</a>.</noscript>
<script type="module" src="/console/assets/${script}"></script>
</body>
</html>
`;
}

export async function buildConsole(): Promise<ConsoleAssets> {
  // Loaded here only: processes that serve no console never load esbuild.
  const esbuild = await import('esbuild');
  const APP_DIR = appDir();
  const result = await esbuild.build({
    entryPoints: [`${APP_DIR}main.tsx`, `${APP_DIR}style.css`],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: '/console',
    entryNames: '[name]-[hash]',
    logLevel: 'silent',
    legalComments: 'none',
  });
  const files = new Map<string, Asset>();
  for (const out of result.outputFiles) {
    const name = out.path.slice(out.path.lastIndexOf('/') + 1);
    const ext = name.slice(name.lastIndexOf('.'));
    files.set(name, { body: Buffer.from(out.contents), type: TYPES[ext] ?? 'application/octet-stream' });
  }
  const script = [...files.keys()].find((f) => f.endsWith('.js'));
  const style = [...files.keys()].find((f) => f.endsWith('.css'));
  if (!script || !style) throw new Error('the console build produced no script or stylesheet');
  return { index: { body: Buffer.from(page(script, style)), type: 'text/html; charset=utf-8' }, files };
}

let built: Promise<ConsoleAssets> | undefined;

/** One build per process, shared by every app in it; a failed build is tried again next time. */
export function consoleAssets(): Promise<ConsoleAssets> {
  built ??= buildConsole().catch((e) => {
    built = undefined;
    throw e;
  });
  return built;
}

/** A short fingerprint of the assets (logged at start-up). */
export function fingerprint(assets: ConsoleAssets): string {
  const hash = createHash('sha256');
  for (const [name] of assets.files) hash.update(name);
  return hash.digest('hex').slice(0, 12);
}
