import { describe, expect, it } from 'vitest';
import { StackRefSchema } from './records.js';

/** Stack references: identified by role, account and region; records written before roles read the same. */

const arn = 'arn:aws:cloudformation:eu-west-1:111122223333:stack/tcp-acme-silo/0b1c';
const stored = {
  stackName: 'tcp-acme-silo',
  arn,
  templateVersion: '0123456789ab',
  status: 'CREATE_COMPLETE',
};

describe('StackRefSchema', () => {
  it('reads a record written before roles: name tenant/target/retiring is the role, the region is the ARN’s', () => {
    expect(StackRefSchema.parse({ ...stored, name: 'tenant' })).toEqual({
      ...stored,
      role: 'current',
      region: 'eu-west-1',
    });
    expect(StackRefSchema.parse({ ...stored, name: 'target', accountId: '444455556666' })).toMatchObject({
      role: 'target',
      accountId: '444455556666',
    });
    expect(StackRefSchema.parse({ ...stored, name: 'retiring' }).role).toBe('retiring');
  });

  it('keeps role and region as written, and refuses an unknown role', () => {
    expect(StackRefSchema.parse({ ...stored, role: 'target', region: 'us-east-1' })).toEqual({
      ...stored,
      role: 'target',
      region: 'us-east-1',
    });
    expect(StackRefSchema.safeParse({ ...stored, role: 'spare', region: 'us-east-1' }).success).toBe(false);
  });

  it('a stack asked for and not yet seen has no ARN: its region must be written', () => {
    expect(StackRefSchema.parse({ ...stored, arn: '', role: 'current', region: 'us-east-1' }).arn).toBe('');
  });
});
