import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { DEFAULT_CATALOG, TierCatalog } from '../../tiers/catalog.js';

/**
 * A local HTTP double of the part of Stripe's API the control plane uses, on 127.0.0.1, answering
 * as Stripe does (object shapes from Stripe's published OpenAPI fixtures, ids with their prefixes,
 * form-encoded bodies, errors as `{ error: { type, code, message, param } }`, and idempotency: the
 * same Idempotency-Key with the same request replays the first answer, with another request it
 * answers 400 `idempotency_error`). It records every request so tests assert exactly what the SDK
 * sent. Endpoints: POST /v1/customers, GET|POST|DELETE /v1/subscriptions/:id, POST
 * /v1/subscriptions, POST /v1/billing/meter_events.
 */

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** The form body (or, for GET/DELETE, the query string), decoded into nested objects and arrays. */
  readonly body: Record<string, unknown>;
  readonly idempotencyKey: string | undefined;
  readonly stripeVersion: string | undefined;
  readonly authorization: string | undefined;
  readonly status: number;
  /** True when the answer was an idempotent replay. */
  readonly replayed: boolean;
}

type Json = Record<string, unknown>;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const stripeId = (prefix: string) =>
  `${prefix}_${[...randomBytes(24)].map((b) => ALPHABET[b % ALPHABET.length]).join('')}`;

/** Decodes Stripe's bracketed form encoding (`items[0][price]=…`, `metadata[k]=…`) into objects. */
export function decodeForm(text: string): Json {
  const root: Json = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const path = key.split(/\[|\]\[|\]/).filter((p) => p !== '');
    let node: Record<string, unknown> | unknown[] = root;
    path.forEach((part, i) => {
      const last = i === path.length - 1;
      const nextIsIndex = /^\d+$/.test(path[i + 1] ?? '');
      const slot = Array.isArray(node) ? Number(part) : part;
      const container = node as Record<string | number, unknown>;
      if (last) container[slot] = value;
      else {
        container[slot] ??= nextIsIndex ? [] : {};
        node = container[slot] as Json;
      }
    });
  }
  return root;
}

class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: Json,
  ) {
    super(String(error.message));
  }
}

const invalid = (message: string, param?: string, code?: string) =>
  new StripeApiError(400, {
    type: 'invalid_request_error',
    message,
    ...(param ? { param } : {}),
    ...(code ? { code } : {}),
  });
const missing = (what: string, id: string, param = 'id') =>
  new StripeApiError(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${what}: '${id}'`,
    param,
  });

export interface StripeDoubleOptions {
  /** Price ids that exist (`price_…`); others answer resource_missing. */
  readonly prices: readonly string[];
  /** The secret key the double accepts. */
  readonly secretKey: string;
  readonly clock?: () => Date;
}

export class StripeDouble {
  readonly requests: RecordedRequest[] = [];
  readonly customers = new Map<string, Json>();
  readonly subscriptions = new Map<string, Json>();
  readonly meterEvents: Json[] = [];
  /** Invoices the test puts here (`addInvoice`); listed by GET /v1/invoices. */
  readonly invoices: Json[] = [];
  private readonly idempotent = new Map<string, { fingerprint: string; status: number; body: Json }>();
  private readonly meterIdentifiers = new Set<string>();
  private readonly prices: Map<string, Json>;
  private readonly clock: () => Date;
  private server: Server | undefined;
  private faults: { path: RegExp; kind: 'drop' | 'fail' }[] = [];

  constructor(private readonly options: StripeDoubleOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.prices = new Map(options.prices.map((id) => [id, this.price(id)]));
  }

  /** Listens on 127.0.0.1 on a free port; answers the API base to configure (STRIPE_API_BASE). */
  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * The next request to a matching path is processed, then its connection is cut before the answer
   * (`drop`: a lost answer, which the SDK retries with the same key), or answered 500 unprocessed (`fail`).
   */
  faultNext(path: RegExp, kind: 'drop' | 'fail'): void {
    this.faults.push({ path, kind });
  }

  /** The recorded requests, without the GETs (reads), as tests compare them. */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  private now(): number {
    return Math.floor(this.clock().getTime() / 1000);
  }

  private price(id: string): Json {
    return {
      id,
      object: 'price',
      active: true,
      billing_scheme: 'per_unit',
      created: this.now(),
      currency: 'usd',
      livemode: false,
      lookup_key: null,
      metadata: {},
      nickname: null,
      product: `prod_${id.slice(6, 20)}`,
      recurring: {
        interval: 'month',
        interval_count: 1,
        meter: null,
        usage_type: 'licensed',
        trial_period_days: null,
      },
      tax_behavior: 'unspecified',
      type: 'recurring',
      unit_amount: 2000,
      unit_amount_decimal: '2000',
    };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const raw =
      method === 'GET' || method === 'DELETE' ? url.search.slice(1) : Buffer.concat(chunks).toString('utf8');
    const body = decodeForm(raw);
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const idempotencyKey = header('idempotency-key');
    const record = (status: number, replayed: boolean) =>
      this.requests.push({
        method,
        path: url.pathname,
        body,
        idempotencyKey,
        stripeVersion: header('stripe-version'),
        authorization: header('authorization'),
        status,
        replayed,
      });
    const fault = this.faults.find((f) => f.path.test(url.pathname));
    if (fault) this.faults = this.faults.filter((f) => f !== fault);
    const send = (status: number, json: Json, replayed = false) => {
      record(status, replayed);
      if (fault?.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      res.writeHead(status, {
        'content-type': 'application/json',
        'request-id': stripeId('req'),
        ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      });
      res.end(JSON.stringify(json));
    };
    if (fault?.kind === 'fail') {
      record(500, false);
      res.writeHead(500, { 'content-type': 'application/json', 'request-id': stripeId('req') });
      res.end(JSON.stringify({ error: { type: 'api_error', message: 'An unknown error occurred' } }));
      return;
    }
    if (header('authorization') !== `Bearer ${this.options.secretKey}`) {
      const given = header('authorization')?.replace(/^Bearer /, '') ?? '';
      send(401, {
        error: {
          type: 'invalid_request_error',
          message: given
            ? `Invalid API Key provided: ${given.slice(0, 8)}${'*'.repeat(Math.max(0, given.length - 12))}${given.slice(-4)}`
            : 'You did not provide an API key.',
        },
      });
      return;
    }
    const fingerprint = createHash('sha256').update(`${method} ${url.pathname}\n${raw}`).digest('hex');
    const mutating = method === 'POST' || method === 'DELETE';
    const stored = idempotencyKey && mutating ? this.idempotent.get(idempotencyKey) : undefined;
    if (stored) {
      if (stored.fingerprint !== fingerprint) {
        send(400, {
          error: {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          },
        });
        return;
      }
      send(stored.status, stored.body, true);
      return;
    }
    try {
      const answer = this.route(method, url.pathname, body);
      if (mutating && idempotencyKey)
        this.idempotent.set(idempotencyKey, { fingerprint, status: 200, body: answer });
      send(200, answer);
    } catch (e) {
      if (!(e instanceof StripeApiError)) throw e;
      send(e.status, { error: { ...e.error, request_log_url: null } });
    }
  }

  private route(method: string, path: string, body: Json): Json {
    const sub = /^\/v1\/subscriptions\/([^/]+)$/.exec(path);
    if (method === 'POST' && path === '/v1/customers') return this.createCustomer(body);
    if (method === 'POST' && path === '/v1/subscriptions') return this.createSubscription(body);
    if (sub && method === 'GET') return this.subscription(decodeURIComponent(sub[1]!));
    if (sub && method === 'POST') return this.updateSubscription(decodeURIComponent(sub[1]!), body);
    if (sub && method === 'DELETE') return this.cancelSubscription(decodeURIComponent(sub[1]!));
    if (method === 'POST' && path === '/v1/billing/meter_events') return this.meterEvent(body);
    if (method === 'GET' && path === '/v1/invoices') return this.listInvoices(body);
    throw new StripeApiError(404, {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${method}: ${path}).`,
    });
  }

  private createCustomer(body: Json): Json {
    const customer: Json = {
      id: stripeId('cus'),
      object: 'customer',
      address: null,
      balance: 0,
      created: this.now(),
      currency: null,
      default_source: null,
      delinquent: false,
      description: null,
      email: body.email ?? null,
      invoice_prefix: randomBytes(4).toString('hex').toUpperCase(),
      invoice_settings: {
        custom_fields: null,
        default_payment_method: null,
        footer: null,
        rendering_options: null,
      },
      livemode: false,
      metadata: body.metadata ?? {},
      name: body.name ?? null,
      next_invoice_sequence: 1,
      phone: null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: null,
    };
    this.customers.set(customer.id as string, customer);
    return customer;
  }

  private item(subscriptionId: string, priceId: string, param: string): Json {
    const price = this.prices.get(priceId);
    if (!price) throw missing('price', priceId, param);
    return {
      id: stripeId('si'),
      object: 'subscription_item',
      created: this.now(),
      current_period_end: this.now() + 30 * 86_400,
      current_period_start: this.now(),
      discounts: [],
      metadata: {},
      price,
      quantity: 1,
      subscription: subscriptionId,
      tax_rates: [],
    };
  }

  private items(sub: Json): Json[] {
    return (sub.items as { data: Json[] }).data;
  }

  private createSubscription(body: Json): Json {
    const customer = body.customer as string | undefined;
    if (!customer) throw invalid('Missing required param: customer.', 'customer', 'parameter_missing');
    if (!this.customers.has(customer)) throw missing('customer', customer, 'customer');
    const wanted = (body.items as Json[] | undefined) ?? [];
    if (wanted.length === 0) throw invalid('Missing required param: items.', 'items', 'parameter_missing');
    const id = stripeId('sub');
    const sub: Json = {
      id,
      object: 'subscription',
      billing_cycle_anchor: this.now(),
      cancel_at: null,
      cancel_at_period_end: false,
      canceled_at: null,
      collection_method: 'charge_automatically',
      created: this.now(),
      currency: 'usd',
      customer,
      ended_at: null,
      items: {
        object: 'list',
        data: wanted.map((w, i) => this.item(id, String(w.price), `items[${i}][price]`)),
        has_more: false,
        total_count: wanted.length,
        url: `/v1/subscription_items?subscription=${id}`,
      },
      latest_invoice: null,
      livemode: false,
      metadata: body.metadata ?? {},
      start_date: this.now(),
      status: 'active',
    };
    this.subscriptions.set(id, sub);
    return sub;
  }

  private subscription(id: string): Json {
    const sub = this.subscriptions.get(id);
    if (!sub) throw missing('subscription', id);
    return sub;
  }

  private updateSubscription(id: string, body: Json): Json {
    const sub = this.subscription(id);
    if (sub.status === 'canceled')
      throw invalid('A canceled subscription can only update its cancellation_details and metadata.');
    let items = [...this.items(sub)];
    for (const [i, change] of ((body.items as Json[] | undefined) ?? []).entries()) {
      if (change.id && change.deleted === 'true') {
        if (!items.some((it) => it.id === change.id))
          throw missing('subscription item', String(change.id), `items[${i}][id]`);
        items = items.filter((it) => it.id !== change.id);
      } else if (change.price) items.push(this.item(id, String(change.price), `items[${i}][price]`));
    }
    if (items.length === 0) throw invalid('A subscription must have at least one active plan.', 'items');
    (sub.items as Json).data = items;
    (sub.items as Json).total_count = items.length;
    if (body.metadata) sub.metadata = { ...(sub.metadata as Json), ...(body.metadata as Json) };
    return sub;
  }

  private cancelSubscription(id: string): Json {
    const sub = this.subscription(id);
    if (sub.status === 'canceled') throw invalid(`This subscription has already been canceled: ${id}`);
    Object.assign(sub, { status: 'canceled', canceled_at: this.now(), ended_at: this.now() });
    return sub;
  }

  /** An invoice of a customer, as Stripe's invoice object carries what the revenue read uses. */
  addInvoice(invoice: {
    customer: string;
    amountPaid: number;
    currency: string;
    created: Date;
    status?: 'paid' | 'open' | 'void';
  }): Json {
    const json: Json = {
      id: stripeId('in'),
      object: 'invoice',
      customer: invoice.customer,
      amount_paid: invoice.amountPaid,
      amount_due: invoice.amountPaid,
      currency: invoice.currency,
      created: Math.floor(invoice.created.getTime() / 1000),
      status: invoice.status ?? 'paid',
      livemode: false,
    };
    this.invoices.push(json);
    return json;
  }

  /** GET /v1/invoices: customer, status, created[gte|gt|lte|lt], limit, starting_after, newest first. */
  private listInvoices(query: Json): Json {
    const created = (query.created ?? {}) as Record<string, string>;
    const bound = (k: string) => (created[k] === undefined ? undefined : Number(created[k]));
    const [gte, gt, lte, lt] = ['gte', 'gt', 'lte', 'lt'].map(bound);
    const matching = this.invoices
      .filter((i) => !query.customer || i.customer === query.customer)
      .filter((i) => !query.status || i.status === query.status)
      .filter((i) => {
        const c = i.created as number;
        return (
          (gte === undefined || c >= gte) &&
          (gt === undefined || c > gt) &&
          (lte === undefined || c <= lte) &&
          (lt === undefined || c < lt)
        );
      })
      .sort((a, b) => (b.created as number) - (a.created as number));
    const after = query.starting_after ? matching.findIndex((i) => i.id === query.starting_after) + 1 : 0;
    const limit = Math.min(100, Number(query.limit ?? 10));
    const data = matching.slice(after, after + limit);
    return { object: 'list', data, has_more: after + limit < matching.length, url: '/v1/invoices' };
  }

  private meterEvent(body: Json): Json {
    const payload = (body.payload ?? {}) as Json;
    if (!body.event_name)
      throw invalid('Missing required param: event_name.', 'event_name', 'parameter_missing');
    const customer = payload.stripe_customer_id as string | undefined;
    if (!customer || !this.customers.has(customer))
      throw invalid(
        `No such customer: '${customer ?? ''}'`,
        'payload[stripe_customer_id]',
        'resource_missing',
      );
    if (!/^\d+$/.test(String(payload.value ?? '')))
      throw invalid('The value must be a whole number.', 'payload[value]', 'parameter_invalid_integer');
    const identifier = (body.identifier as string | undefined) ?? stripeId('mev');
    if (this.meterIdentifiers.has(identifier))
      throw invalid(
        `An event already exists with identifier ${identifier}.`,
        'identifier',
        'duplicate_meter_event',
      );
    this.meterIdentifiers.add(identifier);
    const event: Json = {
      object: 'billing.meter_event',
      created: this.now(),
      event_name: body.event_name,
      identifier,
      livemode: false,
      payload,
      timestamp: Number(body.timestamp ?? this.now()),
    };
    this.meterEvents.push(event);
    return event;
  }
}

/** The Stripe prices of the test catalog: each tier its own, plus one metered price pool tiers share. */
export const TEST_PRICES = {
  basic: 'price_basic',
  standard: 'price_standard',
  premium: 'price_premium',
  calls: 'price_api_calls',
} as const;

export const TEST_STRIPE_KEY = 'sk_test_0123456789abcdefDOUBLE';
export const TEST_STRIPE_WEBHOOK_SECRET = 'whsec_test_stripe_0123456789abcdef';

/** The shipped catalog with Stripe prices on basic, standard and premium. */
export function billingCatalog(): TierCatalog {
  const tiers = DEFAULT_CATALOG.tiers.map((t) => {
    if (t.name === 'basic' || t.name === 'standard')
      return { ...t, billing: { stripePriceIds: [TEST_PRICES[t.name], TEST_PRICES.calls] } };
    if (t.name === 'premium') return { ...t, billing: { stripePriceIds: [TEST_PRICES.premium] } };
    return t;
  });
  return TierCatalog.parse({ ...DEFAULT_CATALOG, tiers });
}

/** A Stripe event delivery: its raw body and a `Stripe-Signature` made by the stripe SDK itself. */
export function stripeDelivery(
  type: string,
  object: Record<string, unknown>,
  options: { secret?: string; timestamp?: number; id?: string } = {},
): { raw: string; signature: string; id: string } {
  const id = options.id ?? stripeId('evt');
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const raw = JSON.stringify({
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: timestamp,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  });
  const signature = Stripe.webhooks.generateTestHeaderString({
    payload: raw,
    secret: options.secret ?? TEST_STRIPE_WEBHOOK_SECRET,
    timestamp,
  });
  return { raw, signature, id };
}
