import { createHmac, timingSafeEqual } from 'node:crypto';
import { ControlPlaneError } from '../core/errors.js';

/**
 * Webhook signatures: `t=<unix seconds>,v1=<hex HMAC-SHA256>` over `"<t>.<raw body>"`, Stripe's
 * scheme. The signup webhook takes it in `Webhook-Signature`, the Stripe webhook in Stripe's own
 * `Stripe-Signature` (which also carries entries such as `v0=` that are ignored). The timestamp is
 * signed too, so a captured delivery cannot be replayed after the tolerance window. Several `v1=`
 * entries are accepted (the sender signs with old and new secret while rotating).
 */

export const SIGNATURE_TOLERANCE_SECONDS = 300;

export function computeSignature(secret: string, timestamp: number, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** The header value a sender puts on a delivery (for tests, docs and client libraries). */
export function signWebhook(secret: string, rawBody: Buffer | string, timestamp: number): string {
  return `t=${timestamp},v1=${computeSignature(secret, timestamp, rawBody)}`;
}

interface ParsedHeader {
  readonly timestamp: number;
  readonly signatures: readonly Buffer[];
}

function parseHeader(header: string | undefined): ParsedHeader | undefined {
  if (!header || header.length > 1024) return undefined;
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures };
}

export interface VerifyOptions {
  readonly secret: string;
  /** The header the signature came in, for messages. @default Webhook-Signature */
  readonly headerName?: string;
  readonly header: string | undefined;
  readonly rawBody: Buffer;
  readonly now: Date;
  readonly toleranceSeconds?: number;
}

/**
 * Throws INVALID_SIGNATURE unless one v1 signature matches the raw body, then SIGNATURE_EXPIRED when
 * the signed timestamp is more than the tolerance away from now. The signature is checked first so
 * an unsigned caller learns nothing about the clock.
 */
export function verifyWebhookSignature(options: VerifyOptions): { timestamp: number } {
  const headerName = options.headerName ?? 'Webhook-Signature';
  const parsed = parseHeader(options.header);
  if (!parsed) {
    throw new ControlPlaneError(
      'INVALID_SIGNATURE',
      `missing or malformed ${headerName} header; expected t=<unix seconds>,v1=<hex HMAC-SHA256>`,
    );
  }
  const expected = Buffer.from(computeSignature(options.secret, parsed.timestamp, options.rawBody), 'hex');
  // Every candidate is compared (no early exit) in constant time; lengths are equal by the parser's regex.
  let match = false;
  for (const candidate of parsed.signatures) {
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) match = true;
  }
  if (!match) {
    throw new ControlPlaneError('INVALID_SIGNATURE', `the ${headerName} does not match the request body`);
  }
  const tolerance = options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  const skew = Math.abs(Math.floor(options.now.getTime() / 1000) - parsed.timestamp);
  if (skew > tolerance) {
    throw new ControlPlaneError(
      'SIGNATURE_EXPIRED',
      `the signed timestamp is ${skew} s away from the control plane's clock; at most ${tolerance} s is accepted`,
      { details: { timestamp: parsed.timestamp, toleranceSeconds: tolerance } },
    );
  }
  return { timestamp: parsed.timestamp };
}
