import type { Operation } from '../core/registry/records.js';
import { EVENT_TYPES, EVENT_VERSION, type LifecycleEvent } from './events.js';
import { ROLLOUT_EVENT_TYPES } from './rollouts/events.js';
import type { StepChange } from './tasks/context.js';

/**
 * The local event tap: every lifecycle event this process publishes to EventBridge, plus the
 * operation and step changes it records, in one ordered, bounded, in-memory log that the event
 * stream (GET /v1/events/stream) and `tenantctl events --follow` read. Each event has an id
 * `<epoch>-<seq>`, the epoch naming this process's log, so a client resuming with Last-Event-ID
 * gets what it missed, or is told plainly (`stream.gap`) that the log no longer holds it.
 */

/** Change events the stream carries besides the EventBridge ones (same envelope). */
export const CHANGE_EVENT_TYPES = ['operation.started', 'operation.step', 'operation.ended'] as const;
export const STREAM_EVENT_TYPES = [...EVENT_TYPES, ...CHANGE_EVENT_TYPES, ...ROLLOUT_EVENT_TYPES] as const;
export type StreamEventType = (typeof STREAM_EVENT_TYPES)[number];

/** A tenant's event names its tenant and operation; a rollout's event names its rollout instead. */
export interface TappedEvent extends Omit<LifecycleEvent, 'type' | 'tenantId' | 'operationId'> {
  readonly id: string;
  readonly type: StreamEventType | (string & {});
  readonly tenantId?: string;
  readonly operationId?: string;
  readonly rolloutId?: string;
}

/** What `emit` takes: an event without the id, version and (optionally) time the tap fills in. */
export type TapInput = Omit<TappedEvent, 'id' | 'version' | 'time'> & { time?: string };

export type EventListener = (event: TappedEvent) => void;

export interface EventTapOptions {
  /** Events kept for Last-Event-ID resume. @default 1000 */
  readonly capacity?: number;
  readonly clock?: () => Date;
  /** Names this process's log in event ids. @default the start time in ms, base 36 */
  readonly epoch?: string;
}

/** What `replay` answers: the events after an id, or `gap` when the log no longer holds them all. */
export type Replay = { readonly events: TappedEvent[]; readonly gap: boolean };

export class EventTap {
  private readonly buffer: TappedEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  private readonly capacity: number;
  private readonly clock: () => Date;
  readonly epoch: string;
  private seq = 0;

  constructor(options: EventTapOptions = {}) {
    this.capacity = options.capacity ?? 1000;
    this.clock = options.clock ?? (() => new Date());
    this.epoch = options.epoch ?? Date.now().toString(36);
  }

  /** Records an event and hands it to every listener; a listener that throws is dropped. */
  emit(event: TapInput): TappedEvent {
    this.seq += 1;
    const tapped: TappedEvent = {
      id: `${this.epoch}-${this.seq}`,
      type: event.type,
      version: EVENT_VERSION,
      ...(event.tenantId !== undefined ? { tenantId: event.tenantId } : {}),
      ...(event.operationId !== undefined ? { operationId: event.operationId } : {}),
      ...(event.rolloutId !== undefined ? { rolloutId: event.rolloutId } : {}),
      time: event.time ?? this.clock().toISOString(),
      data: event.data,
    };
    this.buffer.push(tapped);
    if (this.buffer.length > this.capacity) this.buffer.shift();
    for (const listener of [...this.listeners]) {
      try {
        listener(tapped);
      } catch {
        this.listeners.delete(listener);
      }
    }
    return tapped;
  }

  /** The events after `lastId` (an id this tap gave). Unknown, foreign or evicted ids are a gap. */
  replay(lastId: string): Replay {
    const [epoch, seqText] = lastId.split('-');
    const seq = Number(seqText);
    if (epoch !== this.epoch || !Number.isInteger(seq) || seq < 0 || seq > this.seq)
      return { events: [], gap: true };
    const events = this.buffer.filter((e) => Number(e.id.split('-')[1]) > seq);
    const oldest = this.buffer[0] ? Number(this.buffer[0].id.split('-')[1]) : this.seq + 1;
    return { events, gap: seq + 1 < oldest };
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }
}

/**
 * Feeds an operation's changes to the tap in the order a reader expects. The step that ends an
 * operation is recorded with its end, before its task returns and the runner announces it: so the
 * end is tapped with the steps it closed first, and the runner's late announcement of those is
 * dropped.
 */
export function operationFeed(tap: EventTap, remember = 1000) {
  const told = new Set<string>();
  const key = (operationId: string, step: string) => `${operationId}/${step}`;
  return {
    started(op: Operation): void {
      tap.emit({
        type: 'operation.started',
        operationId: op.operationId,
        tenantId: op.tenantId,
        data: { type: op.type, status: op.status, input: op.input },
      });
    },
    step(change: StepChange): void {
      if (told.delete(key(change.operationId, change.step))) return;
      const { operationId, tenantId, ...data } = change;
      tap.emit({ type: 'operation.step', operationId, tenantId, data });
    },
    ended(op: Operation): void {
      const ids = { operationId: op.operationId, tenantId: op.tenantId };
      for (const s of op.steps.filter((s) => s.endedAt && s.endedAt === op.endedAt)) {
        told.add(key(op.operationId, s.name));
        tap.emit({
          type: 'operation.step',
          ...ids,
          data: { step: s.name, status: s.status, detail: s.detail },
        });
      }
      for (const k of told) if (told.size > remember) told.delete(k);
      tap.emit({
        type: 'operation.ended',
        ...ids,
        data: { type: op.type, status: op.status, ...(op.error ? { error: op.error } : {}) },
      });
    },
  };
}
