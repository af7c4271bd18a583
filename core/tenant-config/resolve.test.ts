import { describe, expect, it } from 'vitest';
import {
  applyMergePatch,
  configETag,
  emptyConfig,
  etagMatches,
  planPatch,
  resolveConfig,
} from './resolve.js';
import { BrandingSchema, ConfigPatchSchema, HostnameSchema } from './schema.js';

describe('JSON merge patch (RFC 7386)', () => {
  // The examples of RFC 7386, appendix A.
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j patched with %j is %j', (target, patch, result) => {
    expect(applyMergePatch(target, patch)).toEqual(result);
  });
});

describe('patch plans', () => {
  const record = {
    ...emptyConfig('t_01ARZ3NDEKTSV4RRFFQ69G5FAV'),
    version: 3,
    flags: { sso: true, beta: 'on' },
    branding: { name: 'Acme', colours: { primary: '#112233' } },
  };

  it('merges flags and branding, null removes, and lists only what changed', () => {
    const plan = planPatch(
      record,
      ConfigPatchSchema.parse({
        flags: { beta: null, limit: 5 },
        branding: { colours: { accent: '#abcdef' } },
      }),
    );
    expect(plan.flags).toEqual({ sso: true, limit: 5 });
    expect(plan.branding).toEqual({ name: 'Acme', colours: { primary: '#112233', accent: '#abcdef' } });
    expect(plan.changed).toEqual(['flags', 'branding']);
    expect(plan.domain).toEqual({ kind: 'none' });
  });

  it('a patch that repeats the config changes nothing', () => {
    expect(planPatch(record, ConfigPatchSchema.parse({ flags: { sso: true } })).changed).toEqual([]);
  });

  it('a new hostname is a domain change, the same one while pending a refresh, null a removal', () => {
    const withDomain = {
      ...record,
      domain: {
        hostname: 'app.acme.example.com',
        status: 'PENDING_VALIDATION' as const,
        certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/x',
        validationRecords: [],
        requestedAt: '2026-01-01T00:00:00.000Z',
      },
    };
    const plan = (p: unknown) => planPatch(withDomain, ConfigPatchSchema.parse(p));
    expect(plan({ domain: { hostname: 'shop.acme.example.com' } }).domain).toEqual({
      kind: 'set',
      hostname: 'shop.acme.example.com',
    });
    expect(plan({ domain: { hostname: 'APP.acme.example.com' } }).domain).toEqual({ kind: 'refresh' });
    expect(plan({ domain: null })).toMatchObject({ domain: { kind: 'remove' }, changed: ['domain'] });
    const issued = { ...withDomain, domain: { ...withDomain.domain, status: 'ISSUED' as const } };
    expect(
      planPatch(issued, ConfigPatchSchema.parse({ domain: { hostname: 'app.acme.example.com' } })).domain,
    ).toEqual({
      kind: 'none',
    });
  });

  it('refuses a patch that would leave more than 100 flags', () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, true]));
    expect(() => planPatch(record, ConfigPatchSchema.parse({ flags: many }))).toThrow(
      /would leave 103 flags; a tenant has at most 100/,
    );
  });
});

describe('resolution against the tier', () => {
  const record = { ...emptyConfig('t_01ARZ3NDEKTSV4RRFFQ69G5FAV'), version: 2, flags: { sso: false } };

  it("takes the current tier's defaults, the tenant's overrides winning, and says where each comes from", () => {
    const basic = resolveConfig(record, 'basic', { sso: false, 'max-projects': 3 });
    const premium = resolveConfig(record, 'premium', { sso: true, 'max-projects': 100 });
    expect(premium.flags).toEqual({ sso: false, 'max-projects': 100 });
    expect(premium.flagSources).toEqual({ sso: 'tenant', 'max-projects': 'tier' });
    expect(basic.flags['max-projects']).toBe(3);
    // A tier change re-resolves: same document version, another ETag.
    expect(configETag(basic)).not.toBe(configETag(premium));
    expect(configETag(basic)).toMatch(/^"2-[A-Za-z0-9_-]{16}"$/);
    expect(configETag(basic)).toBe(
      configETag(resolveConfig(record, 'basic', { 'max-projects': 3, sso: false })),
    );
  });

  it('compares ETags as If-Match / If-None-Match do', () => {
    expect(etagMatches('"1-abc"', '"1-abc"')).toBe(true);
    expect(etagMatches('W/"1-abc"', '"1-abc"')).toBe(true);
    expect(etagMatches('"0-x", "1-abc"', '"1-abc"')).toBe(true);
    expect(etagMatches('*', '"1-abc"')).toBe(true);
    expect(etagMatches('"1-abd"', '"1-abc"')).toBe(false);
  });
});

describe('validation', () => {
  it.each([
    ['app.acme.example.com', true],
    ['  Shop.Example.COM ', true],
    ['xn--bcher-kva.example', true],
    ['localhost', false],
    ['*.acme.example.com', false],
    ['-a.example.com', false],
    ['a-.example.com', false],
    ['a..example.com', false],
    ['example.com.', false],
    ['10.0.0.1', false],
    [`${'a'.repeat(64)}.example.com`, false],
    [`${'a.'.repeat(127)}com`, false],
    ['app_1.example.com', false],
    ['https://app.example.com', false],
  ])('hostname %j accepted: %s', (hostname, ok) => {
    expect(HostnameSchema.safeParse(hostname).success).toBe(ok);
  });

  it.each([
    [{ logoUrl: 'https://cdn.acme.example.com/logo.svg' }, true],
    [{ logoUrl: 'http://cdn.acme.example.com/logo.svg' }, false],
    [{ logoUrl: 'https://user:pw@cdn.example.com/l.png' }, false],
    [{ logoUrl: 'javascript:alert(1)' }, false],
    [{ colours: { primary: '#A1b2C3' } }, true],
    [{ colours: { primary: '#abc' } }, false],
    [{ colours: { primary: 'red' } }, false],
    [{ colours: { shadow: '#000000' } }, false],
    [{ name: ' Acme ' }, true],
    [{ name: 'Acme\nCorp' }, false],
  ])('branding %j accepted: %s', (branding, ok) => {
    expect(BrandingSchema.safeParse(branding).success).toBe(ok);
  });
});
