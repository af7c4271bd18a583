import { join } from 'node:path';
import { Aws, Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { OPERATION_TYPES, type OperationType } from '../../../core/lifecycle.js';
import {
  definitionText,
  ROLLOUT_MACHINE,
  reconcileDefinition,
  rolloutDefinitionText,
} from '../../../workflows/index.js';
import {
  CLOUDFORMATION_ROLE_ARN_VARIABLE,
  TASK_TEMPLATE_CACHE_DIR,
  TENANT_ROLE_BOUNDARY_ARN_VARIABLE,
} from '../contract.js';
import { controlPlaneFunction, copyInto } from '../functions.js';
import type { TenantStackRole } from '../iam.js';
import type { InfraSettings } from '../settings.js';
import { type PreparedTemplates, stageTaskFiles } from '../templates.js';
import { ResourceGroup } from './resource-group.js';

/** How often AWS reconciles (locally RECONCILE_INTERVAL_SECONDS): hourly, a run of 1,000 tenants takes minutes. */
export const RECONCILE_SCHEDULE = 'rate(1 hour)';

/** Construct id of the rollout state machine (docs/rollouts.md). */
export const ROLLOUT_WORKFLOW_ID = 'RolloutWorkflow';

/** Construct id of each operation's state machine (ids are a contract: renaming one replaces it). */
export const WORKFLOW_IDS: Readonly<Record<OperationType, string>> = {
  onboard: 'OnboardWorkflow',
  'change-tier': 'ChangeTierWorkflow',
  suspend: 'SuspendWorkflow',
  resume: 'ResumeWorkflow',
  offboard: 'OffboardWorkflow',
  update: 'UpdateWorkflow',
  repair: 'RepairWorkflow',
  'update-template': 'UpdateTemplateWorkflow',
};

export interface LifecycleWorkflowsProps {
  /** Prefix (state machines `<prefix>-<operation>`), bundling, tier catalog, dedicated-account settings. */
  readonly settings: InfraSettings;
  /** The tenant templates the task function carries pre-synthesized. */
  readonly templates: PreparedTemplates;
  /** Where the task bundle's extra files are staged (esbuild bundling only). */
  readonly stagingDir: string;
  /** Environment the task function shares with the API function (core/config.ts variables). */
  readonly environment: Readonly<Record<string, string>>;
  /** The role tenant stacks are created with and their roles' boundary (task function environment). */
  readonly tenantStackRole: TenantStackRole;
  /** Where failed executions and task function errors alarm. */
  readonly alarmTopic: sns.ITopic;
}

/**
 * The lifecycle on Step Functions: one Standard state machine per operation, running the very ASL
 * text the local engine runs (`${TaskFunctionArn}` substituted), the task function every Task state
 * invokes, and an alarm per state machine on failed executions (plus one on task function errors).
 */
export class LifecycleWorkflows extends ResourceGroup {
  readonly taskFunction: lambda.Function;
  /** The task function's role: grant it what the tasks do (RegistryTable, TenantAccess). */
  readonly taskRole: iam.Role;
  readonly stateMachines: Readonly<Record<OperationType, sfn.StateMachine>>;
  readonly failureAlarms: Readonly<Record<OperationType, cloudwatch.Alarm>>;
  /** `arn:…:states:<region>:<account>:stateMachine:<prefix>-`; + operation type = state machine ARN. */
  readonly stateMachineArnPrefix: string;
  /** The reconcile workflow, started by its schedule (not an operation: no API starts it). */
  readonly reconcileMachine: sfn.StateMachine;
  /** Fleet rollouts: `<prefix>-rollout`, a Distributed Map over each wave's tenants. */
  readonly rolloutMachine: sfn.StateMachine;
  /** The rollout machine's ARN, built from its name (a policy naming the resource would be a cycle). */
  readonly rolloutMachineArn: string;
  private readonly rolloutMachineName: string;

  constructor(scope: Construct, id: string, props: LifecycleWorkflowsProps) {
    super(scope, id);
    const { settings } = props;
    const { prefix } = settings;

    this.stateMachineArnPrefix = `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:stateMachine:${prefix}-`;
    const taskLogs = new logs.LogGroup(this, 'TaskLogs', { retention: logs.RetentionDays.SIX_MONTHS });
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Task function of the ${prefix} control plane workflows`,
    });
    const taskStaging = join(props.stagingDir, 'task');
    if (settings.bundling === 'esbuild')
      stageTaskFiles(taskStaging, props.templates, settings.tierCatalogFile);
    this.taskFunction = controlPlaneFunction(this, 'TaskFunction', {
      entry: 'control-plane/task-lambda.ts',
      bundling: settings.bundling,
      description: `${prefix} control plane: workflow task handlers (templates ${Object.entries(
        props.templates.templates,
      )
        .map(([kind, t]) => `${kind} ${t.versionId}`)
        .join(', ')})`,
      role: this.taskRole,
      logGroup: taskLogs,
      timeout: Duration.seconds(110),
      memorySize: 1024,
      environment: {
        ...props.environment,
        TEMPLATE_CACHE_DIR: TASK_TEMPLATE_CACHE_DIR,
        // A rollout's tasks start update-template executions (and a rollback's rollout execution).
        STATE_MACHINE_ARN_PREFIX: this.stateMachineArnPrefix,
        [CLOUDFORMATION_ROLE_ARN_VARIABLE]: props.tenantStackRole.role.roleArn,
        [TENANT_ROLE_BOUNDARY_ARN_VARIABLE]: props.tenantStackRole.boundary.managedPolicyArn,
        ACCOUNT_ROLE_NAME: settings.accountRoleName,
        ...(settings.accountEmailPattern ? { ACCOUNT_EMAIL_PATTERN: settings.accountEmailPattern } : {}),
        ...(settings.accountOuPath ? { ACCOUNT_OU_PATH: settings.accountOuPath } : {}),
      },
      afterBundling: (out) => [copyInto(taskStaging, out)],
      // buildRuntime loads the API (Fastify, swagger-ui) only for the roles that serve it.
      externalModules: ['./app.js'],
    });
    Validations.of(this.taskFunction).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the newest runtime the control plane supports and tests (node 20 and 22, package.json engines).',
    });

    const workflowRole = new iam.Role(this, 'WorkflowRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: `State machines of the ${prefix} control plane`,
    });
    workflowRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeTaskFunction',
        actions: ['lambda:InvokeFunction'],
        resources: [this.taskFunction.functionArn],
      }),
    );
    const alarmAction = new cwActions.SnsAction(props.alarmTopic);
    const machines = {} as Record<OperationType, sfn.StateMachine>;
    const alarms = {} as Record<OperationType, cloudwatch.Alarm>;
    for (const type of OPERATION_TYPES) {
      const workflowId = WORKFLOW_IDS[type];
      const logGroup = new logs.LogGroup(this, `${workflowId}Logs`, {
        retention: logs.RetentionDays.ONE_YEAR,
      });
      const machine = new sfn.StateMachine(this, workflowId, {
        stateMachineName: `${prefix}-${type}`,
        stateMachineType: sfn.StateMachineType.STANDARD,
        definitionBody: sfn.DefinitionBody.fromString(definitionText(type)),
        definitionSubstitutions: { TaskFunctionArn: this.taskFunction.functionArn },
        role: workflowRole,
        logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
        tracingEnabled: true,
      });
      machines[type] = machine;
      const alarm = new cloudwatch.Alarm(this, `${workflowId}Failed`, {
        alarmName: `${prefix}-${type}-executions-failed`,
        alarmDescription: `A ${type} execution failed: the operation record names the failing step and the AWS reason (GET /v1/operations/{id}).`,
        metric: machine.metricFailed({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(alarmAction);
      alarms[type] = alarm;
    }
    this.stateMachines = machines;
    this.failureAlarms = alarms;

    // The reconciler (docs/reconcile.md): a machine looping the task function over pages of tenants,
    // started by an EventBridge Scheduler schedule. It reads AWS and writes findings only.
    const reconcileLogs = new logs.LogGroup(this, 'ReconcileWorkflowLogs', {
      retention: logs.RetentionDays.ONE_YEAR,
    });
    this.reconcileMachine = new sfn.StateMachine(this, 'ReconcileWorkflow', {
      stateMachineName: `${prefix}-reconcile`,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(reconcileDefinition(), null, 2)),
      definitionSubstitutions: { TaskFunctionArn: this.taskFunction.functionArn },
      role: workflowRole,
      logs: { destination: reconcileLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    const scheduleRole = new iam.Role(this, 'ReconcileScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: `Starts the ${prefix} control plane's reconcile workflow on its schedule`,
    });
    this.reconcileMachine.grantStartExecution(scheduleRole);
    new scheduler.CfnSchedule(this, 'ReconcileSchedule', {
      name: `${prefix}-reconcile`,
      description: 'Compares the registry with AWS for every tenant (docs/reconcile.md)',
      scheduleExpression: RECONCILE_SCHEDULE,
      flexibleTimeWindow: { mode: 'FLEXIBLE', maximumWindowInMinutes: 5 },
      target: { arn: this.reconcileMachine.stateMachineArn, roleArn: scheduleRole.roleArn, input: '{}' },
    });
    Validations.of(workflowRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Added by the StateMachine construct for execution logging (logs:*LogDelivery, DescribeLogGroups, resource policies) and X-Ray tracing: these actions have no resource-level permissions.',
    });

    // Fleet rollouts (docs/rollouts.md): PlanWave → RunWave (a Distributed Map, one child
    // execution per tenant) → PlanWave …, the text the embedded engine runs. Children are STANDARD:
    // an item polls its tenant's stack update for as long as CloudFormation takes (a silo's RDS
    // change runs past EXPRESS's 5-minute limit), and runs exactly once.
    const rolloutName = `${prefix}-${ROLLOUT_MACHINE}`;
    this.rolloutMachineName = rolloutName;
    // Pseudo parameters, not the stack's env: cdk-nag's acknowledgements name <AWS::Region> either way.
    this.rolloutMachineArn = `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:stateMachine:${rolloutName}`;
    const rolloutRole = new iam.Role(this, 'RolloutWorkflowRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: `The ${prefix} control plane's rollout state machine (Distributed Map)`,
    });
    rolloutRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeTaskFunction',
        actions: ['lambda:InvokeFunction'],
        resources: [this.taskFunction.functionArn],
      }),
    );
    // A Distributed Map starts its child executions on its own state machine, and describes and
    // stops them (Step Functions' "IAM policies for using Distributed Map states").
    rolloutRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DistributedMapChildren',
        actions: ['states:StartExecution'],
        resources: [this.rolloutMachineArn],
      }),
    );
    rolloutRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DistributedMapChildExecutions',
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: rolloutExecutionArns(rolloutName),
      }),
    );
    const rolloutLogs = new logs.LogGroup(this, `${ROLLOUT_WORKFLOW_ID}Logs`, {
      retention: logs.RetentionDays.ONE_YEAR,
    });
    this.rolloutMachine = new sfn.StateMachine(this, ROLLOUT_WORKFLOW_ID, {
      stateMachineName: rolloutName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(rolloutDefinitionText()),
      definitionSubstitutions: { TaskFunctionArn: this.taskFunction.functionArn },
      role: rolloutRole,
      logs: { destination: rolloutLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    Validations.of(rolloutRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Added by the StateMachine construct for execution logging (logs:*LogDelivery, DescribeLogGroups, resource policies) and X-Ray tracing: these actions have no resource-level permissions.',
    });
    // cdk-nag names a finding by the resource as written, pseudo parameters as <AWS::…>.
    for (const pattern of [`${rolloutName}:*`, `${rolloutName}/*`])
      Validations.of(rolloutRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${pattern}]`,
        reason:
          "Execution names are chosen at run time (a rollout's id, the Map Run's child ids): the wildcard stays within this state machine's executions.",
      });
    new cloudwatch.Alarm(this, `${ROLLOUT_WORKFLOW_ID}Failed`, {
      alarmName: `${prefix}-${ROLLOUT_MACHINE}-executions-failed`,
      alarmDescription:
        'A rollout execution failed: the rollout record says where it stopped (GET /v1/rollouts/{id}); the resume schedule starts the next execution.',
      metric: this.rolloutMachine.metricFailed({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(alarmAction);

    new cloudwatch.Alarm(this, 'TaskFunctionErrors', {
      alarmName: `${prefix}-task-function-errors`,
      alarmDescription:
        'The task function failed invocations (beyond the errors handlers report as task errors).',
      metric: this.taskFunction.metricErrors({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(alarmAction);
  }

  /** Starting executions of the state machines (the API function). */
  grantStartExecution(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'StartWorkflows',
        actions: ['states:StartExecution'],
        resources: OPERATION_TYPES.map((t) => this.stateMachines[t].stateMachineArn),
      }),
    );
  }

  /**
   * Starting rollout executions, and on a resume describing and stopping the previous one
   * (StepFunctionsRolloutEngine): the API function, and the task function, whose rollout tasks
   * start a rollback's rollout and each tenant's update-template execution.
   */
  grantRolloutControl(role: iam.Role, options: { startsUpdates?: boolean } = {}): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'StartRollouts',
        actions: ['states:StartExecution'],
        resources: [
          this.rolloutMachineArn,
          // By ARN, not by reference: the task function's policy naming a machine that names the
          // task function would be a dependency cycle.
          ...(options.startsUpdates ? [`${this.stateMachineArnPrefix}update-template`] : []),
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SupersedeRolloutExecutions',
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [rolloutExecutionArns(this.rolloutMachineName)[0]!],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${this.rolloutMachineName}:*]`,
      reason:
        "A rollout's execution names come from its id at run time (rolloutExecutionName): the wildcard stays within the rollout state machine's executions.",
    });
  }
}

/** The rollout machine's executions (`<name>:<id>`) and its Map Runs' child executions (`<name>/<label>:<id>`). */
function rolloutExecutionArns(name: string): string[] {
  const arn = (resourceName: string) =>
    `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:execution:${resourceName}`;
  return [arn(`${name}:*`), arn(`${name}/*`)];
}
