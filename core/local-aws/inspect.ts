import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isMotoOn, motoProcessesFor, processUptimeSeconds } from './processes.js';
import { motoAnswers, type ProbePolicy, readSidecarState, type SidecarState, STATE_FILE } from './sidecar.js';

/**
 * What `tenantctl doctor` reports about a data directory's local AWS, read from the data directory,
 * the process table and moto itself: no control-plane API needed, so it works while the API is down.
 */

export interface StrayMoto {
  readonly pid: number;
  readonly port: number | undefined;
  /** The exact command that stops it. */
  readonly stop: string;
}

export interface LocalAwsReport {
  readonly dataDir: string;
  /** none: never started here; stopped: by local-aws:stop; gone: died; not-answering: alive but silent. */
  readonly status: 'running' | 'not-answering' | 'stopped' | 'gone' | 'none';
  readonly record?: SidecarState;
  readonly uptimeSeconds?: number;
  /** Tenant records in the registry table; an error text when they could not be counted. */
  readonly tenants?: number | { readonly error: string };
  readonly snapshot?: { readonly file: string; readonly bytes: number; readonly savedAt: string };
  readonly strays: StrayMoto[];
}

export interface InspectOptions {
  readonly registryTable: string;
  readonly probe?: ProbePolicy;
}

export async function inspectLocalAws(
  dataDirInput: string,
  options: InspectOptions,
): Promise<LocalAwsReport> {
  const dataDir = resolve(dataDirInput);
  const record = readSidecarState(dataDir);
  const snapshotFile = record?.stateFile ?? join(dataDir, STATE_FILE);
  const snapshot = existsSync(snapshotFile)
    ? (() => {
        const st = statSync(snapshotFile);
        return { file: snapshotFile, bytes: st.size, savedAt: st.mtime.toISOString() };
      })()
    : undefined;
  const live = record && !record.stoppedAt && isMotoOn(record.pid, record.port);
  const strays = motoProcessesFor(dataDir)
    .filter((p) => !(live && p.pid === record.pid))
    .map((p) => ({ pid: p.pid, port: p.port, stop: `kill ${p.pid}` }));
  const base = { dataDir, ...(record ? { record } : {}), ...(snapshot ? { snapshot } : {}), strays };
  if (!record) return { ...base, status: 'none' };
  if (record.stoppedAt) return { ...base, status: 'stopped' };
  if (!live) return { ...base, status: 'gone' };
  const uptime = processUptimeSeconds(record.pid);
  const uptimeSeconds = uptime ?? Math.round((Date.now() - Date.parse(record.startedAt)) / 1000);
  if (!(await motoAnswers(record.endpoint, options.probe ?? { attempts: 2, timeoutMs: 5000 })))
    return { ...base, status: 'not-answering', uptimeSeconds };
  return {
    ...base,
    status: 'running',
    uptimeSeconds,
    tenants: await countTenants(record.endpoint, options.registryTable),
  };
}

/** Tenant records (sk `#TENANT`) in the registry table, by a counting Scan straight to moto's DynamoDB. */
export async function countTenants(endpoint: string, table: string): Promise<number | { error: string }> {
  let count = 0;
  let start: unknown;
  try {
    do {
      const res = await fetch(`${endpoint}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.Scan',
          authorization:
            'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: JSON.stringify({
          TableName: table,
          Select: 'COUNT',
          FilterExpression: 'sk = :t',
          ExpressionAttributeValues: { ':t': { S: '#TENANT' } },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await res.json()) as { Count?: number; LastEvaluatedKey?: unknown; message?: string };
      if (!res.ok) return { error: body.message ?? `DynamoDB answered ${res.status}` };
      count += body.Count ?? 0;
      start = body.LastEvaluatedKey;
    } while (start);
    return count;
  } catch (e) {
    return { error: (e as Error).message };
  }
}
