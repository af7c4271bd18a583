import { Aws, CfnCondition, CfnOutput, type CfnResource, Fn, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TENANT_QUEUE_DATA_ACTIONS, TENANT_WORKER_RUNTIME } from '../constants.js';
import type { DeclaredParameters } from './common.js';

export interface NoisyNeighbourProps {
  readonly parameters: DeclaredParameters;
  /** The tenant's own KMS key: the queues are encrypted with it. */
  readonly key: kms.IKey;
  /** The tenant role: it may use its queue and invoke its worker. */
  readonly tenantRole: iam.Role;
}

/** Logical ids of the three conditions, a contract with the tests and docs/templates.md. */
export const NOISY_NEIGHBOUR_CONDITIONS = {
  queue: 'HasTenantQueue',
  worker: 'HasTenantWorker',
  workerAndQueue: 'HasTenantWorkerAndQueue',
} as const;

/** What the worker runs until the application plane deploys its own code (UpdateFunctionCode). */
const WORKER_PLACEHOLDER_CODE = [
  'exports.handler = async () => {',
  "  throw new Error('no tenant worker code deployed yet: the application plane deploys it with UpdateFunctionCode');",
  '};',
].join('\n');

/**
 * The tier's noisy-neighbour controls (docs/tiers.md), each behind a CloudFormation condition on
 * its parameter, so one template serves tiers with and without them:
 * - TenantQueue=true: a queue and dead-letter queue of the tenant's own, encrypted with its key;
 *   the queue policy denies every message action to a principal not tagged with this TenantId
 *   (the tenant and worker roles carry the tag, vended sessions carry it as a session tag).
 * - WorkerReservedConcurrency>0: a tenant worker function with that reserved concurrency, which
 *   caps the tenant's share of the account's Lambda concurrency and guarantees it.
 */
export class NoisyNeighbourControls extends Construct {
  constructor(scope: Construct, id: string, props: NoisyNeighbourProps) {
    super(scope, id);
    const p = props.parameters;
    const stack = Stack.of(this);
    const hasQueue = new CfnCondition(stack, NOISY_NEIGHBOUR_CONDITIONS.queue, {
      expression: Fn.conditionEquals(p('TenantQueue').valueAsString, 'true'),
    });
    const hasWorker = new CfnCondition(stack, NOISY_NEIGHBOUR_CONDITIONS.worker, {
      expression: Fn.conditionNot(Fn.conditionEquals(p('WorkerReservedConcurrency').valueAsString, '0')),
    });
    const hasBoth = new CfnCondition(stack, NOISY_NEIGHBOUR_CONDITIONS.workerAndQueue, {
      expression: Fn.conditionAnd(hasQueue, hasWorker),
    });
    const queues = this.tenantQueues(p, props.key, hasQueue);
    const { role: workerRole, fn } = this.worker(p, hasWorker);
    const tenantRole = props.tenantRole.node.defaultChild as iam.CfnRole;

    this.policy('TenantRoleQueue', hasQueue, tenantRole, [
      {
        Sid: 'OwnQueueMessages',
        Effect: 'Allow',
        Action: [...TENANT_QUEUE_DATA_ACTIONS, 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        Resource: [queues.queue.attrArn, queues.deadLetter.attrArn],
      },
    ]);
    this.policy('TenantRoleWorker', hasWorker, tenantRole, [
      { Sid: 'OwnWorkerInvoke', Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [fn.attrArn] },
    ]);
    // What a Lambda event source mapping from the tenant queue to the worker needs of its role.
    this.policy('WorkerQueue', hasBoth, workerRole, [
      {
        Sid: 'OwnQueueConsume',
        Effect: 'Allow',
        Action: [
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueAttributes',
        ],
        Resource: [queues.queue.attrArn],
      },
      { Sid: 'OwnQueueKey', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: [props.key.keyArn] },
    ]);

    // Outputs: a contract with the workflows (recorded in the tenant's outputs) and docs/templates.md.
    const outputs: [string, string, string, CfnCondition][] = [
      ['TenantQueueUrl', queues.queue.ref, "The tenant's own SQS queue", hasQueue],
      ['TenantQueueArn', queues.queue.attrArn, 'Its ARN', hasQueue],
      [
        'TenantDeadLetterQueueUrl',
        queues.deadLetter.ref,
        'Where messages go after maxReceiveCount',
        hasQueue,
      ],
      ['WorkerFunctionName', fn.ref, "The tenant's worker function", hasWorker],
      ['WorkerFunctionArn', fn.attrArn, 'Its ARN', hasWorker],
    ];
    for (const [name, value, description, condition] of outputs)
      new CfnOutput(stack, name, { value, description, condition });
  }

  private tenantQueues(p: DeclaredParameters, key: kms.IKey, condition: CfnCondition) {
    const encryption = { kmsMasterKeyId: key.keyArn, kmsDataKeyReusePeriodSeconds: 300 };
    const deadLetter = new sqs.CfnQueue(this, 'DeadLetterQueue', {
      ...encryption,
      messageRetentionPeriod: 1_209_600, // 14 days, SQS's maximum: time to inspect and redrive
    });
    const queue = new sqs.CfnQueue(this, 'Queue', {
      ...encryption,
      visibilityTimeout: p('QueueVisibilityTimeout').valueAsNumber,
      redrivePolicy: {
        deadLetterTargetArn: deadLetter.attrArn,
        maxReceiveCount: p('QueueMaxReceiveCount').valueAsNumber,
      },
    });
    const policy = new sqs.CfnQueuePolicy(this, 'QueuePolicy', {
      queues: [queue.ref, deadLetter.ref],
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'TlsOnly',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'sqs:*',
            Resource: [queue.attrArn, deadLetter.attrArn],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
          {
            // Fences the queue by tenant whatever other identity policies in the account allow.
            Sid: 'OwnTenantOnly',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: [...TENANT_QUEUE_DATA_ACTIONS],
            Resource: [queue.attrArn, deadLetter.attrArn],
            Condition: { StringNotEquals: { 'aws:PrincipalTag/TenantId': p('TenantId').valueAsString } },
          },
        ],
      },
    });
    for (const r of [deadLetter, queue, policy]) onlyIf(condition, r);
    Validations.of(deadLetter).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the tenant queue; it has none of its own.',
    });
    return { queue, deadLetter };
  }

  private worker(p: DeclaredParameters, condition: CfnCondition) {
    const logGroup = new logs.CfnLogGroup(this, 'WorkerLogs', { retentionInDays: 90 });
    const role = new iam.CfnRole(this, 'WorkerRole', {
      description: Fn.join('', ['Worker function of tenant ', p('TenantSlug').valueAsString]),
      assumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          // Like the control plane's own function roles: who may use it is decided by iam:PassRole,
          // which only the tenant-stack role has (to Lambda, for roles of tenant stacks).
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      },
      policies: [
        {
          policyName: 'OwnLogs',
          policyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'OwnLogGroup',
                Effect: 'Allow',
                Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                // By name: the log group's Arn attribute already ends in ":*".
                Resource: [
                  Fn.join('', [
                    `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:`,
                    logGroup.ref,
                    ':log-stream:*',
                  ]),
                ],
              },
            ],
          },
        },
      ],
    });
    const fn = new lambda.CfnFunction(this, 'WorkerFunction', {
      description: Fn.join('', ['Worker of tenant ', p('TenantSlug').valueAsString]),
      runtime: TENANT_WORKER_RUNTIME,
      handler: 'index.handler',
      code: { zipFile: WORKER_PLACEHOLDER_CODE },
      role: role.attrArn,
      reservedConcurrentExecutions: p('WorkerReservedConcurrency').valueAsNumber,
      timeout: 30,
      memorySize: 256,
      loggingConfig: { logGroup: logGroup.ref },
    });
    for (const r of [logGroup, role, fn]) onlyIf(condition, r);
    const logGroupId = Stack.of(this).getLogicalId(logGroup);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<${logGroupId}>:log-stream:*]`,
      reason:
        "Log streams are created per function instance; the wildcard is inside the worker's own log group.",
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'The runtime of the placeholder code; the application plane deploys its own code and may set its runtime with it.',
    });
    return { role, fn };
  }

  /** An IAM policy attached to one role, present only under `condition`. */
  private policy(
    id: string,
    condition: CfnCondition,
    role: iam.CfnRole,
    statements: Record<string, unknown>[],
  ): void {
    const policy = new iam.CfnPolicy(this, id, {
      policyName: id,
      roles: [role.ref],
      policyDocument: { Version: '2012-10-17', Statement: statements },
    });
    onlyIf(condition, policy);
  }
}

function onlyIf(condition: CfnCondition, resource: CfnResource): void {
  resource.cfnOptions.condition = condition;
}
