import {
  DescribeCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
} from '@aws-sdk/client-acm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regionalAcmCertificates } from '../core/tenant-config/certificates.js';
import { TenantConfigStore } from '../core/tenant-config/store.js';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { aroundCalls } from '../test/support/sdk-middleware.js';

/**
 * Offboarding a tenant with a custom domain on moto: its ACM certificate is deleted (ACM through
 * the SDK no longer lists or describes it) and its config no longer shows the domain. moto deletes
 * a certificate whatever uses it (it never answers ResourceInUseException), so the in-use case
 * makes DeleteCertificate answer that error for one certificate, as ACM does for one attached to
 * a load balancer.
 */

let cp: TestControlPlane;
let store: TenantConfigStore;
const actor = { actor: 'test:ops' };
/** Certificates whose DeleteCertificate answers ResourceInUseException (see above). */
const inUse = new Set<string>();
let deletes = 0;

beforeAll(async () => {
  cp = await startTestControlPlane({
    instrument: aroundCalls('acm-in-use', async (call, send) => {
      if (call.operation === 'DeleteCertificate') {
        deletes++;
        if (inUse.has(String(call.input.CertificateArn))) {
          const e = new Error(`Certificate ${call.input.CertificateArn} is in use`);
          e.name = 'ResourceInUseException';
          throw e;
        }
      }
      return send();
    }),
  });
  store = new TenantConfigStore({
    documents: cp.aws.clients.documents,
    tableName: cp.config.registryTable,
    registry: cp.aws.registry,
    tierDefaults: (tier) => cp.catalog.features(tier),
    certificates: regionalAcmCertificates(cp.aws.registry, cp.aws.clients),
    flagsCacheMs: 0,
  });
});
afterAll(async () => cp?.close());

async function onboardWithDomain(slug: string) {
  const started = await cp.workflows.lifecycle.onboard(
    { name: slug, slug, tier: 'basic', adminEmail: `admin@${slug}.example.com` },
    actor,
  );
  expect((await cp.waitForOperation(started.operation.operationId)).status).toBe('SUCCEEDED');
  const patched = await store.patch(slug, { domain: { hostname: `app.${slug}.example.com` } }, actor);
  const arn = patched.config.domain!.certificateArn;
  const tags = await cp.aws.clients.acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
  expect(tags.Tags).toContainEqual({ Key: 'TenantId', Value: started.tenant.tenantId });
  return { tenantId: started.tenant.tenantId, arn };
}

async function listedArns(): Promise<string[]> {
  const out = await cp.aws.clients.acm.send(new ListCertificatesCommand({}));
  return (out.CertificateSummaryList ?? []).map((c) => c.CertificateArn!);
}

async function offboard(slug: string) {
  const started = await cp.workflows.lifecycle.offboard(slug, actor);
  const op = await cp.waitForOperation(started.operation.operationId);
  expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
  return op;
}

describe('offboarding a tenant with a custom domain', () => {
  it('deletes its ACM certificate and drops the domain from its config, after its stacks are gone', async () => {
    const { tenantId, arn } = await onboardWithDomain('domain-gone');
    expect(await listedArns()).toContain(arn);

    const op = await offboard('domain-gone');
    const names = op.steps.map((s) => s.name);
    expect(names.indexOf('ReleaseDomain')).toBeGreaterThan(names.indexOf('DeleteStacks'));
    expect(op.steps.find((s) => s.name === 'ReleaseDomain')?.detail).toBe(
      `domain app.domain-gone.example.com removed; certificate ${arn} deleted`,
    );

    expect(await listedArns()).not.toContain(arn);
    await expect(
      cp.aws.clients.acm.send(new DescribeCertificateCommand({ CertificateArn: arn })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    const after = await store.read('domain-gone', { consistent: true });
    expect(after.tenant.state).toBe('OFFBOARDED');
    expect(after.config.domain).toBeNull();
    const events = (await cp.aws.registry.listEvents(tenantId)).items;
    expect(
      events.find((e) => e.action === 'config.updated' && e.detail?.reason === 'offboard')?.detail,
    ).toMatchObject({
      changed: ['domain'],
      previousCertificateArn: arn,
      certificate: 'deleted',
    });
  });

  it('is idempotent: a second release finds no domain, a certificate deleted already counts as gone', async () => {
    const { tenantId, arn } = await onboardWithDomain('domain-again');
    // The certificate went behind the control plane's back (or an earlier attempt deleted it).
    expect(await regionalAcmCertificates(cp.aws.registry, cp.aws.clients).release(arn)).toBe('deleted');
    const before = deletes;
    expect(await store.retireDomain(tenantId, 'test:ops')).toEqual({
      outcome: 'gone',
      hostname: 'app.domain-again.example.com',
      certificateArn: arn,
    });
    expect(await store.retireDomain(tenantId, 'test:ops')).toEqual({ outcome: 'none' });
    expect(deletes).toBe(before + 1);

    const op = await offboard('domain-again');
    expect(op.steps.find((s) => s.name === 'ReleaseDomain')?.detail).toBe('no custom domain');
  });

  it('reports a certificate still in use instead of failing the offboarding, and drops the domain', async () => {
    const { tenantId, arn } = await onboardWithDomain('domain-in-use');
    inUse.add(arn);
    const op = await offboard('domain-in-use');
    expect(op.steps.find((s) => s.name === 'ReleaseDomain')?.detail).toMatch(
      new RegExp(`certificate ${arn} is still in use .* kept`),
    );
    expect(await listedArns()).toContain(arn);
    expect((await store.read('domain-in-use', { consistent: true })).config.domain).toBeNull();
    const events = (await cp.aws.registry.listEvents(tenantId)).items;
    expect(events.find((e) => e.detail?.reason === 'offboard')?.detail).toMatchObject({
      previousCertificateArn: arn,
      certificate: 'in-use',
    });
  });
});
