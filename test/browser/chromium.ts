import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core (no browser download). Missing, the browser tests
 * fail with the command that installs it: they never pass by being skipped.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const INSTALL_CHROMIUM = 'apt-get update && apt-get install -y chromium';

/** The flags this machine's closed network needs (docs/testing.md): no background connections. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function requireChromium(path: string = CHROMIUM): void {
  if (!existsSync(path))
    throw new Error(
      `Chromium is missing at ${path}: the console's browser tests need it. Install it with:\n\n    ${INSTALL_CHROMIUM}\n`,
    );
}

/** A fresh browser profile (its own --user-data-dir) on each launch. */
export async function launchChromium(): Promise<BrowserContext> {
  requireChromium();
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'tcp-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
}
