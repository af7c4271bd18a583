import type { AwsClients } from '../../core/aws/clients.js';
import { EVENT_VERSION, putEnvelope } from '../events.js';

/**
 * Rollout events: the same versioned envelope and bus as the lifecycle events (docs/events.md),
 * with `rolloutId` in place of the tenant and operation ids.
 */
export const ROLLOUT_EVENT_TYPES = [
  'rollout.started',
  'rollout.wave_completed',
  'rollout.paused',
  'rollout.completed',
  'rollout.failed',
] as const;
export type RolloutEventType = (typeof ROLLOUT_EVENT_TYPES)[number];

export interface RolloutEvent {
  readonly type: RolloutEventType;
  readonly version: typeof EVENT_VERSION;
  readonly rolloutId: string;
  readonly time: string;
  readonly data: Record<string, unknown>;
}

export interface RolloutEventPublisher {
  publish(event: Omit<RolloutEvent, 'version' | 'time'>): Promise<RolloutEvent>;
}

export function eventBridgeRolloutPublisher(
  clients: AwsClients,
  busName: () => string,
  clock: () => Date = () => new Date(),
): RolloutEventPublisher {
  return {
    async publish(e) {
      const event: RolloutEvent = { ...e, version: EVENT_VERSION, time: clock().toISOString() };
      await putEnvelope(clients, busName(), event);
      return event;
    },
  };
}
