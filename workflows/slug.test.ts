import { describe, expect, it } from 'vitest';
import { SLUG_PATTERN } from '../core/registry/records.js';
import { slugify } from './lifecycle.js';

describe('slugify', () => {
  it('keeps readable names readable', () => {
    expect(slugify('ACME Corp.')).toBe('acme-corp');
    expect(slugify('Zürich AG')).toBe('zurich-ag');
    expect(slugify('1st Bank')).toBe('t-1st-bank');
  });

  it('gives names with no ASCII letters distinct slugs (a short hash), not all t-tenant', () => {
    const names = ['日本', '東京', '大阪', 'Ωμέγα', '!!', '北京', 'ab', 'x'];
    const slugs = names.map(slugify);
    expect(new Set(slugs).size).toBe(names.length);
    for (const slug of slugs) expect(slug).toMatch(SLUG_PATTERN);
    expect(slugify('日本')).toMatch(/^t-[0-9a-f]{8}$/);
    // Stable: the same name always derives the same slug (a retry meets TENANT_EXISTS, not a twin).
    expect(slugify('日本')).toBe(slugify('日本'));
  });
});
