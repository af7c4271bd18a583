import { createRequire } from 'node:module';

/** asl-validator, typed: what the definition tests check every state machine with. */
export type AslValidate = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText(separator?: string): string };
export const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidate;

/** The task function ARN the definition tests substitute for the placeholder. */
export const TEST_TASK_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:tcp-tasks';
