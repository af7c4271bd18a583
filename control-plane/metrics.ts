import { Counter, Gauge, Histogram, Registry as PromRegistry } from 'prom-client';

/**
 * Prometheus metrics of one control plane. Each instance has its own prom-client registry (never
 * the global one), so several apps in one process (tests) do not collide. Workflows report the end
 * of an operation through `operationFinished`; create the metrics first and hand the same object to
 * the workflows and to `buildApp`.
 */
export interface ControlPlaneMetrics {
  readonly registry: PromRegistry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  operationStarted(type: string): void;
  /** `status` is the operation's end status (SUCCEEDED or FAILED); `seconds` its wall-clock duration. */
  operationFinished(type: string, status: string, seconds: number): void;
  /**
   * Serves `tenants_by_template_version{isolation,version}` from `count` (`isolation/version` →
   * tenants), read at most once per `ttlMs` however often Prometheus scrapes: it reads the fleet.
   */
  tenantsByTemplateVersion(count: () => Promise<ReadonlyMap<string, number>>, ttlMs?: number): void;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Operations run from seconds (pool) to tens of minutes (a silo with its own account).
const OPERATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

export function createMetrics(): ControlPlaneMetrics {
  const registry = new PromRegistry();
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route template, method and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route template, method and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const started = new Counter({
    name: 'tenant_operations_started_total',
    help: 'Lifecycle operations started, by type.',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const finished = new Counter({
    name: 'tenant_operations_finished_total',
    help: 'Lifecycle operations finished, by type and end status.',
    labelNames: ['type', 'status'] as const,
    registers: [registry],
  });
  const opDuration = new Histogram({
    name: 'tenant_operation_duration_seconds',
    help: 'Wall-clock duration of finished lifecycle operations, by type and end status.',
    labelNames: ['type', 'status'] as const,
    buckets: OPERATION_BUCKETS,
    registers: [registry],
  });
  let versionCount: (() => Promise<ReadonlyMap<string, number>>) | undefined;
  let versionTtlMs = 30_000;
  let cached: { at: number; counts: ReadonlyMap<string, number> } | undefined;
  new Gauge({
    name: 'tenants_by_template_version',
    help: 'Tenants whose current stack runs each template version, by isolation model and version.',
    labelNames: ['isolation', 'version'] as const,
    registers: [registry],
    async collect() {
      if (!versionCount) return;
      if (!cached || Date.now() - cached.at > versionTtlMs)
        cached = { at: Date.now(), counts: await versionCount() };
      this.reset();
      for (const [key, n] of cached.counts) {
        const [isolation = '', version = ''] = key.split('/');
        this.set({ isolation, version }, n);
      }
    },
  });
  return {
    registry,
    tenantsByTemplateVersion(count, ttlMs = 30_000) {
      versionCount = count;
      versionTtlMs = ttlMs;
      cached = undefined;
    },
    observeRequest(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
    operationStarted(type) {
      started.inc({ type });
    },
    operationFinished(type, status, seconds) {
      finished.inc({ type, status });
      opDuration.observe({ type, status }, seconds);
    },
  };
}
