import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { newTenantId } from '../core/ids.js';
import { SLUG_PATTERN } from '../core/registry/records.js';
import { PARAMETER_SPECS } from '../templates/parameter-specs.js';
import { buildTenantParameters } from '../templates/parameters.js';
import type { PlatformOutputs } from '../templates/types.js';
import { TierCatalog } from '../tiers/catalog.js';
import type { OnboardRequest } from '../workflows/service.js';
import {
  CreateTenantSchema,
  type OnboardInput,
  type SignupEvent,
  SignupEventSchema,
  SlugRefSchema,
  TenantRefParamsSchema,
} from './schemas.js';

/**
 * One truth for parameter validity: what the API accepts for a templated value is exactly what the
 * tenant's template accepts (the parameter builder, with the template's own spec).
 */

const SEED = Number(process.env.HARDENING_SEED ?? 20261124);
const silo = TierCatalog.load().get('enterprise');
const platform = {} as PlatformOutputs; // silo templates take no platform value

/** Does the silo template take these principals? */
function templateTakes(principals: readonly string[]): boolean {
  try {
    buildTenantParameters(
      {
        tenantId: newTenantId(),
        slug: 'acme',
        tier: silo,
        allowedPrincipals: principals,
        templateVersion: 'abcdef012345',
      },
      platform,
    );
    return true;
  } catch {
    return false;
  }
}

const apiTakes = (principals: readonly string[]) =>
  CreateTenantSchema.safeParse({
    name: 'Acme',
    tier: 'enterprise',
    adminEmail: 'a@acme.example.com',
    allowedPrincipals: principals,
  });

/** Principal ARNs near the edge of the rule: valid and invalid parts in every position. */
const principal = fc
  .tuple(
    fc.constantFrom('arn:aws', 'arn:aws-cn', 'arn:aws-us-gov', 'arn:azure', 'arn:aws'),
    fc.constantFrom('123456789012', '111122223333', '12345678901', '*', '1234567890123'),
    fc.constantFrom('root', 'role/', 'user/', 'group/', 'policy/', 'assumed-role/', 'role', ''),
    fc.string({
      unit: fc.constantFrom(...'abcXYZ019+=.@_-/,* \u00e9'.split('')),
      minLength: 0,
      maxLength: 40,
    }),
    fc.constantFrom(0, 0, 0, 300, 520),
  )
  .map(([partition, account, kind, name, pad]) => {
    const tail = kind === 'root' ? (pad ? 'x' : '') : `${name}${'n'.repeat(pad)}`;
    return `${partition}:iam::${account}:${kind}${tail}`;
  });
const principalList = fc
  .array(principal, { maxLength: 20 })
  .chain((list) => fc.constantFrom(list, list.length > 0 ? [...list, list[0]!] : list, list.slice(0, 20)));

describe('allowedPrincipals: the API and the silo template agree', () => {
  it('every list the API accepts deploys, and every list the template takes the API accepts', () => {
    let accepted = 0;
    fc.assert(
      fc.property(principalList, (list) => {
        const parsed = apiTakes(list);
        if (parsed.success) {
          accepted += 1;
          expect(templateTakes(parsed.data.allowedPrincipals ?? []), JSON.stringify(list)).toBe(true);
        } else if (list.length <= 20) {
          expect(templateTakes(list), JSON.stringify(list)).toBe(false);
        }
      }),
      { numRuns: 2000, seed: SEED },
    );
    // The generator reaches both sides of the rule.
    expect(accepted).toBeGreaterThan(50);
    expect(accepted).toBeLessThan(1950);
  });

  it('accepts roots, roles and users; refuses groups, wildcards, commas, repeats and over 4,096 bytes', () => {
    expect(
      apiTakes([
        'arn:aws:iam::123456789012:root',
        'arn:aws:iam::123456789012:role/path/ops',
        'arn:aws-cn:iam::123456789012:user/ci+bot@x',
      ]).success,
    ).toBe(true);
    for (const bad of [
      ['arn:aws:iam::123456789012:group/ops'],
      ['arn:aws:iam::*:root'],
      ['arn:aws:iam::123456789012:role/a,b'],
      ['arn:aws:iam::123456789012:root', 'arn:aws:iam::123456789012:root'],
      Array.from({ length: 9 }, (_, i) => `arn:aws:iam::123456789012:role/${String(i).padEnd(500, 'r')}`),
    ]) {
      const parsed = apiTakes(bad);
      expect(parsed.success, JSON.stringify(bad).slice(0, 80)).toBe(false);
      expect(templateTakes(bad)).toBe(false);
    }
  });
});

describe('one slug rule', () => {
  it('the API, the registry and the TenantSlug parameter use the same pattern', () => {
    expect(PARAMETER_SPECS.TenantSlug.pattern).toBe(SLUG_PATTERN.source);
    for (const slug of ['acme', 'ac-me', 'a1b', 'ac--me', 'Acme', '-acme', 'acme-', 'ab', 'a'.repeat(33)]) {
      const api = SlugRefSchema.safeParse(slug).success;
      expect(api, slug).toBe(SLUG_PATTERN.test(slug));
      expect(TenantRefParamsSchema.safeParse({ tenantId: slug }).success, slug).toBe(api);
    }
  });

  it('a tenant path takes a tenant id as well as a slug, and no slug with --', () => {
    expect(TenantRefParamsSchema.safeParse({ tenantId: newTenantId() }).success).toBe(true);
    expect(TenantRefParamsSchema.safeParse({ tenantId: 'ac--me' }).success).toBe(false);
  });
});

describe('one onboard input', () => {
  it("the signup webhook's data is the onboard input's name, slug, tier and adminEmail, with the same rules", () => {
    const data = { name: 'Acme', slug: 'acme', tier: 'basic', adminEmail: 'a@acme.example.com' };
    const event = (d: Record<string, unknown>) =>
      SignupEventSchema.safeParse({ id: 'evt_1', type: 'signup.completed', created: 1, data: d });
    expect(event(data).success).toBe(true);
    expect(CreateTenantSchema.safeParse(data).success).toBe(true);
    for (const bad of [{ slug: 'ac--me' }, { adminEmail: 'nope' }, { name: '' }, { region: 'us-east-1' }]) {
      expect(event({ ...data, ...bad }).success, JSON.stringify(bad)).toBe(false);
    }
    // The webhook takes no region or principals; the API does.
    expect(CreateTenantSchema.safeParse({ ...data, region: 'us-east-1' }).success).toBe(true);
  });

  it('parses to what the lifecycle takes (checked by the compiler)', () => {
    expectTypeOf<OnboardInput>().toExtend<OnboardRequest>();
    expectTypeOf<SignupEvent['data']>().toExtend<OnboardRequest>();
  });
});
