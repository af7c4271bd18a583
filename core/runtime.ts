import { type AwsClients, type AwsTarget, createAwsClients } from './aws/clients.js';
import type { Config } from './config.js';
import { ensureLocalAws, type LocalAws } from './local-aws/sidecar.js';
import { Registry } from './registry/registry.js';
import { describeRegistryTable, ensureRegistryTable } from './registry/table.js';

/**
 * The AWS side of a running control plane: where calls go, the SDK clients, the registry. Built
 * once at start-up from the configuration and handed to everything that needs it.
 */
export interface AwsRuntime {
  /** The local AWS URL, or null on real AWS. */
  readonly awsEndpoint: string | null;
  /** The moto sidecar this process uses (null with AWS_ENDPOINT_URL or on AWS); its `notice` must be shown. */
  readonly localAws: LocalAws | null;
  /** True when templates must be adapted to the emulator (moto) rather than real AWS. */
  readonly emulator: boolean;
  readonly clients: AwsClients;
  readonly registry: Registry;
  /** Where AWS calls go and the registry table's status: what GET /healthz and /readyz report. */
  health(): Promise<HealthInfo>;
}

export interface HealthInfo {
  /** The local AWS URL, or null on real AWS. */
  readonly awsEndpoint: string | null;
  /** The registry table and its DynamoDB status (ACTIVE when healthy). */
  readonly registry: { readonly table: string; readonly status: string };
  /** The moto sidecar, when this process uses one: a restart of the control plane shows `reused`. */
  readonly localAws?: Pick<LocalAws, 'pid' | 'port' | 'origin' | 'notice'>;
}

function localAwsHealth(l: LocalAws): NonNullable<HealthInfo['localAws']> {
  return { pid: l.pid, port: l.port, origin: l.origin, ...(l.notice ? { notice: l.notice } : {}) };
}

export interface AwsRuntimeOptions {
  /** Hooks every SDK client's middleware stack (the fault-injection tests). */
  readonly instrument?: AwsTarget['instrument'];
}

export async function startAwsRuntime(config: Config, options: AwsRuntimeOptions = {}): Promise<AwsRuntime> {
  let endpoint: string | undefined = config.awsEndpoint;
  let localAws: LocalAws | null = null;
  if (!endpoint && config.target === 'local') {
    localAws = await ensureLocalAws({ dataDir: config.dataDir, port: config.localAwsPort, persist: true });
    endpoint = localAws.endpoint;
  }
  const clients = createAwsClients({
    region: config.region,
    endpoint,
    ...(options.instrument ? { instrument: options.instrument } : {}),
  });
  const registry = new Registry({
    documents: clients.documents,
    tableName: config.registryTable,
    idempotency: { inProgressSeconds: config.operationClaimSeconds },
  });
  // On AWS the table belongs to the control-plane stack (see control-plane/infra); locally we make it.
  if (config.target === 'local') await ensureRegistryTable(clients.dynamodb, config.registryTable);
  return {
    awsEndpoint: endpoint ?? null,
    localAws,
    emulator: config.target === 'local',
    clients,
    registry,
    health: async () => ({
      awsEndpoint: endpoint ?? null,
      registry: {
        table: config.registryTable,
        status: await describeRegistryTable(clients.dynamodb, config.registryTable),
      },
      ...(localAws ? { localAws: localAwsHealth(localAws) } : {}),
    }),
  };
}
