import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { AwsClients } from '../core/aws/clients.js';

/**
 * Lifecycle events, one versioned envelope for all (docs/events.md). Published on the platform's
 * EventBridge bus with source `tenant-control-plane` and detail-type = `type`.
 */
export const EVENT_SOURCE = 'tenant-control-plane';
export const EVENT_VERSION = 1;

export const EVENT_TYPES = [
  'tenant.onboarded',
  'tenant.onboarding_failed',
  'tenant.tier_changed',
  'tenant.migration_requested',
  'tenant.suspended',
  'tenant.resumed',
  'tenant.offboarded',
  'tenant.updated',
  'tenant.operation_failed',
  'tenant.repaired',
  'tenant.drift_detected',
  'tenant.template_updated',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface LifecycleEvent {
  readonly type: EventType;
  readonly version: typeof EVENT_VERSION;
  readonly tenantId: string;
  /** The operation, or for `tenant.drift_detected` the reconcile run (`rc_…`). */
  readonly operationId: string;
  readonly time: string;
  readonly data: Record<string, unknown>;
}

export interface EventPublisher {
  publish(event: Omit<LifecycleEvent, 'version' | 'time'> & { time?: string }): Promise<LifecycleEvent>;
}

/** Puts one envelope on the bus (detail-type = its type); a refused entry is transient (retried). */
export async function putEnvelope(
  clients: AwsClients,
  busName: string,
  event: { readonly type: string; readonly time: string },
): Promise<void> {
  const out = await clients.eventbridge.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: busName,
          Source: EVENT_SOURCE,
          DetailType: event.type,
          Detail: JSON.stringify(event),
          Time: new Date(event.time),
        },
      ],
    }),
  );
  if (out.FailedEntryCount) {
    const entry = out.Entries?.find((x) => x.ErrorCode);
    throw Object.assign(
      new Error(`EventBridge refused ${event.type}: ${entry?.ErrorCode} ${entry?.ErrorMessage}`),
      { name: 'AWS_TRANSIENT' },
    );
  }
}

export function eventBridgePublisher(
  clients: AwsClients,
  busName: () => string,
  clock: () => Date = () => new Date(),
): EventPublisher {
  return {
    async publish(e) {
      const event: LifecycleEvent = { ...e, version: EVENT_VERSION, time: e.time ?? clock().toISOString() };
      await putEnvelope(clients, busName(), event);
      return event;
    },
  };
}
