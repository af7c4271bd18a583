import { type Finding, finding } from './findings.js';

/**
 * CloudFormation drift, classified. The answers are DescribeStackResourceDrifts' (and
 * DescribeStackDriftDetectionStatus') as the API gives them; tested against recorded answers
 * (./fixtures/). Pure: the calls are made by the adapter (workflows/reconcile).
 */

export interface PropertyDifference {
  readonly PropertyPath?: string | undefined;
  readonly ExpectedValue?: string | undefined;
  readonly ActualValue?: string | undefined;
  readonly DifferenceType?: string | undefined;
}

export interface StackResourceDrift {
  readonly StackId?: string | undefined;
  readonly LogicalResourceId?: string | undefined;
  readonly PhysicalResourceId?: string | undefined;
  readonly ResourceType?: string | undefined;
  readonly StackResourceDriftStatus?: string | undefined;
  readonly PropertyDifferences?: readonly PropertyDifference[] | undefined;
}

/** What drift detection of one stack came to, as the adapter saw it. */
export type DriftAnswer =
  /** This endpoint has no drift detection (moto): nothing was checked, and the finding says so. */
  | { readonly kind: 'unavailable'; readonly reason: string }
  /** Detection ran and failed, or did not finish in time: nothing is known. */
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'detected'; readonly resources: readonly StackResourceDrift[] };

const describe = (d: PropertyDifference) =>
  `${d.PropertyPath ?? '?'} ${d.DifferenceType ?? 'NOT_EQUAL'}${d.ExpectedValue !== undefined ? ` expected ${d.ExpectedValue}` : ''}${d.ActualValue !== undefined ? `, actual ${d.ActualValue}` : ''}`;

/** The findings of one stack's drift answer: one per drifted, deleted or unchecked resource. */
export function classifyDrift(stackName: string, answer: DriftAnswer, at: string): Finding[] {
  if (answer.kind !== 'detected') {
    return [
      finding(
        {
          class: 'unchecked',
          resource: 'drift-detection',
          ref: stackName,
          message:
            answer.kind === 'unavailable'
              ? `drift detection unavailable on this endpoint: ${answer.reason}; the stack's resources were not checked`
              : `drift detection of ${stackName} failed: ${answer.reason}; its resources were not checked`,
          repairable: false,
        },
        at,
      ),
    ];
  }
  const out: Finding[] = [];
  for (const r of answer.resources) {
    const ref = `${stackName}/${r.LogicalResourceId ?? r.PhysicalResourceId ?? '?'}`;
    const type = r.ResourceType ?? 'resource';
    switch (r.StackResourceDriftStatus) {
      case 'IN_SYNC':
        break;
      case 'MODIFIED': {
        const diffs = r.PropertyDifferences ?? [];
        out.push(
          finding(
            {
              class: 'state-mismatch',
              resource: 'stack-resource',
              ref,
              message:
                `${type} ${r.PhysicalResourceId ?? ''} drifted: ${diffs.map(describe).join('; ') || 'properties differ'}`.replace(
                  '  ',
                  ' ',
                ),
              expected:
                diffs.map((d) => `${d.PropertyPath}=${d.ExpectedValue ?? '(none)'}`).join(', ') || undefined,
              actual:
                diffs.map((d) => `${d.PropertyPath}=${d.ActualValue ?? '(none)'}`).join(', ') || undefined,
              repairable: true,
            },
            at,
          ),
        );
        break;
      }
      case 'DELETED':
        out.push(
          finding(
            {
              class: 'missing',
              resource: 'stack-resource',
              ref,
              message: `${type} ${r.PhysicalResourceId ?? ''} was deleted outside CloudFormation`.replace(
                '  ',
                ' ',
              ),
              expected: 'exists',
              actual: 'deleted',
              repairable: true,
            },
            at,
          ),
        );
        break;
      default:
        // NOT_CHECKED, UNKNOWN, UNSUPPORTED: CloudFormation could not look; never read as in sync.
        out.push(
          finding(
            {
              class: 'unchecked',
              resource: 'stack-resource',
              ref,
              message: `CloudFormation did not check ${type} for drift (${r.StackResourceDriftStatus ?? 'no status'})`,
              repairable: false,
            },
            at,
          ),
        );
    }
  }
  return out;
}
