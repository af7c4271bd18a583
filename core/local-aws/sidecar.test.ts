import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../errors.js';
import {
  ensureLocalAws,
  MOTO_MISSING_MESSAGE,
  motoAnswers,
  readSidecarState,
  stopLocalAws,
} from './sidecar.js';

describe('local AWS sidecar', () => {
  it('starts moto on loopback, reuses it from the data directory, and stops it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sidecar-'));
    const first = await ensureLocalAws({ dataDir });
    try {
      expect(first.started).toBe(true);
      expect(first.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await motoAnswers(first.endpoint)).toBe(true);
      expect(readSidecarState(dataDir)?.pid).toBe(first.pid);
      const again = await ensureLocalAws({ dataDir });
      expect(again).toEqual({ endpoint: first.endpoint, started: false, pid: first.pid });
    } finally {
      expect(await stopLocalAws(dataDir)).toBe(true);
    }
    expect(await motoAnswers(first.endpoint, 300)).toBe(false);
    expect(existsSync(join(dataDir, 'local-aws.json'))).toBe(false);
    expect(await stopLocalAws(dataDir)).toBe(false);
  });

  it('says how to install moto when it is missing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sidecar-'));
    const err = await ensureLocalAws({ dataDir, command: 'moto_server_that_does_not_exist' }).catch((e) => e);
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect(err.code).toBe('LOCAL_AWS_UNAVAILABLE');
    expect(err.message).toBe(MOTO_MISSING_MESSAGE);
    expect(err.message).toContain('pip install "moto[server]"');
    expect(err.message).toContain('AWS_ENDPOINT_URL');
  });
});
