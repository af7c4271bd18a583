import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { CreateDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../errors.js';
import { motoProcessesFor, processAlive } from './processes.js';
import {
  ensureLocalAws,
  MOTO_MISSING_MESSAGE,
  motoAnswers,
  RECORD_FILE,
  readSidecarState,
  STATE_FILE,
  stopLocalAws,
} from './sidecar.js';

const dirs: string[] = [];
const newDataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-'));
  dirs.push(dir);
  return dir;
};
// Whatever a failed assertion left running is stopped.
afterAll(async () => {
  for (const dir of dirs) {
    await stopLocalAws(dir, 2000);
    rmSync(dir, { recursive: true, force: true });
  }
});

const clientConfig = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

describe('local AWS sidecar', () => {
  it('starts moto on loopback, reuses it from the data directory, and stops it', async () => {
    const dataDir = newDataDir();
    const first = await ensureLocalAws({ dataDir });
    try {
      expect(first.started).toBe(true);
      expect(first.origin).toBe('new');
      expect(first.notice).toBeUndefined();
      expect(first.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await motoAnswers(first.endpoint)).toBe(true);
      expect(readSidecarState(dataDir)?.pid).toBe(first.pid);
      const again = await ensureLocalAws({ dataDir });
      expect(again).toEqual({ ...first, started: false, origin: 'reused' });
    } finally {
      const report = await stopLocalAws(dataDir);
      expect(report.stopped).toEqual([{ pid: first.pid, port: first.port, recorded: true }]);
      expect(report.stateSaved).toBe(false);
    }
    expect(await motoAnswers(first.endpoint, 300)).toBe(false);
    expect(readSidecarState(dataDir)?.stoppedAt).toBeDefined();
    expect((await stopLocalAws(dataDir)).stopped).toEqual([]);
    // Stopped on purpose with its state in memory: the next start says so, and is not "lost".
    const next = await ensureLocalAws({ dataDir });
    expect(next.origin).toBe('new');
    expect(next.notice).toMatch(/was stopped .* its state in memory only/);
    await stopLocalAws(dataDir);
  });

  it('reuses a moto that holds an RDS instance (whose /moto-api/data.json answers 500)', async () => {
    const dataDir = newDataDir();
    const first = await ensureLocalAws({ dataDir });
    const rds = new RDSClient(clientConfig(first.endpoint));
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: 'db1',
        Engine: 'postgres',
        DBInstanceClass: 'db.t3.micro',
        AllocatedStorage: 20,
        MasterUsername: 'admin1',
        MasterUserPassword: 'password-123',
      }),
    );
    rds.destroy();
    expect((await fetch(`${first.endpoint}/moto-api/data.json`)).status).toBe(500);
    const again = await ensureLocalAws({ dataDir });
    expect(again).toMatchObject({ endpoint: first.endpoint, pid: first.pid, origin: 'reused' });
    expect(motoProcessesFor(dataDir).map((p) => p.pid)).toEqual([first.pid]);
    await stopLocalAws(dataDir);
  });

  it('never starts a second moto while the recorded one lives but does not answer', async () => {
    const dataDir = newDataDir();
    const first = await ensureLocalAws({ dataDir });
    process.kill(first.pid, 'SIGSTOP'); // alive, owns its port, answers nothing
    try {
      const err = await ensureLocalAws({ dataDir, probe: { attempts: 2, timeoutMs: 300 } }).catch((e) => e);
      expect(err).toBeInstanceOf(ControlPlaneError);
      expect(err.code).toBe('LOCAL_AWS_UNAVAILABLE');
      expect(err.message).toContain(`moto pid ${first.pid} on port ${first.port}`);
      expect(err.message).toContain('no second one is started');
      expect(readSidecarState(dataDir)?.pid).toBe(first.pid);
      expect(motoProcessesFor(dataDir).map((p) => p.pid)).toEqual([first.pid]);
    } finally {
      process.kill(first.pid, 'SIGCONT');
    }
    await stopLocalAws(dataDir);
  });

  it('says plainly that earlier state is lost when the recorded moto is gone and nothing was saved', async () => {
    const dataDir = newDataDir();
    const first = await ensureLocalAws({ dataDir });
    process.kill(first.pid, 'SIGKILL');
    for (let i = 0; i < 100 && processAlive(first.pid); i++) await new Promise((r) => setTimeout(r, 20));
    const second = await ensureLocalAws({ dataDir });
    try {
      expect(second.origin).toBe('lost');
      expect(second.port).toBe(first.port); // the same endpoint when its port is free
      expect(second.notice).toMatch(/^EARLIER LOCAL STATE IS LOST: .*\(moto pid \d+ on port \d+/);
      expect(readSidecarState(dataDir)?.stateLost?.message).toBe(second.notice);
    } finally {
      await stopLocalAws(dataDir);
    }
  });

  it('does not take a recorded pid that is not moto (reused after a reboot) for the local AWS', async () => {
    const dataDir = newDataDir();
    writeFileSync(
      join(dataDir, RECORD_FILE),
      JSON.stringify({
        pid: process.pid,
        port: 1,
        endpoint: 'http://127.0.0.1:1',
        startedAt: '2026-01-01T00:00:00Z',
      }),
    );
    const started = await ensureLocalAws({ dataDir });
    try {
      expect(started.origin).toBe('lost');
      expect(started.pid).not.toBe(process.pid);
    } finally {
      const report = await stopLocalAws(dataDir);
      expect(report.stopped.map((m) => m.pid)).toEqual([started.pid]);
    }
    expect(processAlive(process.pid)).toBe(true);
  });

  it('keeps its state across local-aws:stop when persisting, on the same port', async () => {
    const dataDir = newDataDir();
    const first = await ensureLocalAws({ dataDir, persist: true });
    const ddb = new DynamoDBClient(clientConfig(first.endpoint));
    await ddb.send(
      new CreateTableCommand({
        TableName: 'kept',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    ddb.destroy();
    const report = await stopLocalAws(dataDir);
    expect(report).toMatchObject({ stateSaved: true, stateFile: join(dataDir, STATE_FILE) });
    const second = await ensureLocalAws({ dataDir, persist: true });
    try {
      expect(second).toMatchObject({ origin: 'restored', port: first.port, started: true });
      expect(second.notice).toContain('restored from');
      const again = new DynamoDBClient(clientConfig(second.endpoint));
      expect((await again.send(new ListTablesCommand({}))).TableNames).toEqual(['kept']);
      again.destroy();
    } finally {
      await stopLocalAws(dataDir);
    }
  });

  it('refuses to start over a snapshot it cannot load, and leaves the file as it was', async () => {
    const dataDir = newDataDir();
    writeFileSync(join(dataDir, STATE_FILE), 'not a snapshot');
    const err = await ensureLocalAws({ dataDir, persist: true }).catch((e) => e);
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect(err.code).toBe('LOCAL_AWS_UNAVAILABLE');
    expect(err.message).toContain(`${join(dataDir, STATE_FILE)} could not be loaded`);
    expect(readFileSync(join(dataDir, STATE_FILE), 'utf8')).toBe('not a snapshot');
    expect(motoProcessesFor(dataDir)).toEqual([]);
    expect(readSidecarState(dataDir)).toBeUndefined();
  });

  it('stops, and reports, a stray moto an older record left running', async () => {
    const dataDir = newDataDir();
    const old = await ensureLocalAws({ dataDir });
    // An older control plane lost track of it: its record now names a moto that is gone.
    const record = JSON.parse(readFileSync(join(dataDir, RECORD_FILE), 'utf8'));
    writeFileSync(join(dataDir, RECORD_FILE), JSON.stringify({ ...record, pid: 999_999_999 }));
    const current = await ensureLocalAws({ dataDir });
    expect(current.notice).toContain(`pid ${old.pid} (port ${old.port})`);
    expect(
      motoProcessesFor(dataDir)
        .map((p) => p.pid)
        .sort(),
    ).toEqual([old.pid, current.pid].sort());
    const report = await stopLocalAws(dataDir);
    expect(report.stopped).toEqual(
      expect.arrayContaining([
        { pid: current.pid, port: current.port, recorded: true },
        { pid: old.pid, port: old.port, recorded: false },
      ]),
    );
    expect(motoProcessesFor(dataDir)).toEqual([]);
  });

  it('says how to install moto when it is missing', async () => {
    const dataDir = newDataDir();
    const err = await ensureLocalAws({ dataDir, command: 'moto_server_that_does_not_exist' }).catch((e) => e);
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect(err.code).toBe('LOCAL_AWS_UNAVAILABLE');
    expect(err.message).toBe(MOTO_MISSING_MESSAGE);
    expect(err.message).toContain('pip install "moto[server]"');
    expect(err.message).toContain('AWS_ENDPOINT_URL');
  });
});
