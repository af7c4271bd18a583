import { createHash } from 'node:crypto';
import {
  type ACMClient,
  type CertificateDetail,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  RequestCertificateCommand,
} from '@aws-sdk/client-acm';
import type { AwsClients } from '../aws/clients.js';
import { errorName, isNotFound, isNotImplemented, toControlPlaneError } from '../aws/errors.js';
import { backoffDelay, sleep } from '../backoff.js';
import { ControlPlaneError } from '../errors.js';
import type { RegistryReader } from '../registry/queries.js';
import type { DnsRecord, Domain } from './schema.js';

/**
 * Custom-domain certificates, through ACM: a DNS-validated certificate per (tenant, hostname), and
 * the CNAME records the tenant's DNS must hold. The config store calls this port; tests may pass
 * another implementation.
 */
export interface CertificateProvider {
  /** Requests (or finds, by idempotency token) the certificate and reads its validation records. */
  request(tenantId: string, hostname: string): Promise<Domain>;
  /** The recorded certificate as ACM sees it now (status, records). */
  refresh(tenantId: string, domain: Domain): Promise<Domain>;
  /**
   * Deletes a certificate the config no longer names, where ACM allows it (not attached to a
   * distribution or load balancer). Never throws: answers what became of it.
   */
  release(certificateArn: string): Promise<'deleted' | 'gone' | 'in-use' | 'failed'>;
}

export interface AcmCertificatesOptions {
  readonly acm: Pick<ACMClient, 'send'>;
  readonly clock?: () => Date;
  /** Where DescribeCertificate has no records yet (real ACM fills them in seconds later): re-reads. @default 4 */
  readonly describeAttempts?: number;
  readonly describeBackoffMs?: number;
}

/** ACM's idempotency token: `\w{1,32}`, the same for one tenant and hostname (ACM honours it for an hour). */
export const certificateToken = (tenantId: string, hostname: string): string =>
  createHash('sha256').update(`${tenantId}:${hostname}`).digest('hex').slice(0, 32);

const STATUS: Record<string, Domain['status']> = {
  PENDING_VALIDATION: 'PENDING_VALIDATION',
  ISSUED: 'ISSUED',
};

function recordsOf(detail: CertificateDetail | undefined): DnsRecord[] {
  return (detail?.DomainValidationOptions ?? []).flatMap((o) =>
    o.ResourceRecord?.Name && o.ResourceRecord.Type && o.ResourceRecord.Value
      ? [{ name: o.ResourceRecord.Name, type: o.ResourceRecord.Type, value: o.ResourceRecord.Value }]
      : [],
  );
}

/** Any SDK failure of `call` as a catalogued error: a call the endpoint lacks is CAPABILITY_UNAVAILABLE. */
function acmError(e: unknown, call: string): ControlPlaneError {
  if (isNotImplemented(e)) {
    return new ControlPlaneError(
      'CAPABILITY_UNAVAILABLE',
      `ACM ${call} is not available on this endpoint, so a custom domain cannot get its certificate here; nothing was changed`,
      { details: { service: 'acm', call }, cause: e },
    );
  }
  return toControlPlaneError(e, `ACM ${call}`);
}

export function acmCertificates(options: AcmCertificatesOptions): CertificateProvider {
  const { acm } = options;
  const clock = options.clock ?? (() => new Date());
  const attempts = options.describeAttempts ?? 4;
  const backoff = { baseMs: options.describeBackoffMs ?? 250 };

  async function describe(arn: string): Promise<CertificateDetail | undefined> {
    for (let attempt = 0; ; attempt++) {
      let detail: CertificateDetail | undefined;
      try {
        detail = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate;
      } catch (e) {
        throw acmError(e, 'DescribeCertificate');
      }
      const settled = detail?.Status !== 'PENDING_VALIDATION' || recordsOf(detail).length > 0;
      if (settled || attempt + 1 >= attempts) return detail;
      await sleep(backoffDelay(backoff, attempt));
    }
  }

  const toDomain = (
    hostname: string,
    arn: string,
    requestedAt: string,
    d: CertificateDetail | undefined,
  ): Domain => ({
    hostname,
    status: STATUS[d?.Status ?? 'PENDING_VALIDATION'] ?? 'FAILED',
    certificateArn: arn,
    validationRecords: recordsOf(d),
    requestedAt,
    ...(d?.FailureReason
      ? { reason: d.FailureReason }
      : d?.Status && !STATUS[d.Status]
        ? { reason: d.Status }
        : {}),
  });

  return {
    async request(tenantId, hostname) {
      let arn: string | undefined;
      try {
        arn = (
          await acm.send(
            new RequestCertificateCommand({
              DomainName: hostname,
              ValidationMethod: 'DNS',
              IdempotencyToken: certificateToken(tenantId, hostname),
              Tags: [{ Key: 'TenantId', Value: tenantId }],
            }),
          )
        ).CertificateArn;
      } catch (e) {
        throw acmError(e, 'RequestCertificate');
      }
      if (!arn)
        throw new ControlPlaneError('AWS_ERROR', 'ACM RequestCertificate answered no certificate ARN');
      return toDomain(hostname, arn, clock().toISOString(), await describe(arn));
    },
    async release(certificateArn) {
      try {
        await acm.send(new DeleteCertificateCommand({ CertificateArn: certificateArn }));
        return 'deleted';
      } catch (e) {
        if (isNotFound(e)) return 'gone';
        return errorName(e) === 'ResourceInUseException' ? 'in-use' : 'failed';
      }
    },
    async refresh(_tenantId, domain) {
      return toDomain(
        domain.hostname,
        domain.certificateArn,
        domain.requestedAt,
        await describe(domain.certificateArn),
      );
    },
  };
}

/**
 * Certificates in each tenant's region (a regional endpoint takes a certificate of its own
 * region): `providerFor` answers the provider of a region, `regionOf` a tenant's region. A
 * certificate is released in the region its ARN names.
 */
export function certificatesByRegion(
  regionOf: (tenantId: string) => Promise<string | undefined>,
  providerFor: (region: string | undefined) => CertificateProvider,
): CertificateProvider {
  return {
    request: async (tenantId, hostname) => providerFor(await regionOf(tenantId)).request(tenantId, hostname),
    refresh: async (tenantId, domain) => providerFor(await regionOf(tenantId)).refresh(tenantId, domain),
    release: (certificateArn) =>
      providerFor(certificateArn.split(':')[3] || undefined).release(certificateArn),
  };
}

/** ACM certificates in each tenant's region, the tenant found in the registry (home when unrecorded). */
export function regionalAcmCertificates(
  registry: Pick<RegistryReader, 'getTenant'>,
  clients: Pick<AwsClients, 'forRegion' | 'target'>,
): CertificateProvider {
  return certificatesByRegion(
    async (tenantId) => (await registry.getTenant(tenantId))?.region,
    (region) => acmCertificates({ acm: clients.forRegion(region ?? clients.target.region).acm }),
  );
}
