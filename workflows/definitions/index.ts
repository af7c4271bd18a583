import type { OperationType } from '../../core/lifecycle.js';
import type { AslDefinition } from './builder.js';
import { changeTierDefinition } from './change-tier.js';
import { offboardDefinition } from './offboard.js';
import { onboardDefinition } from './onboard.js';
import { repairDefinition } from './repair.js';
import { resumeDefinition, suspendDefinition } from './suspend-resume.js';
import { updateDefinition } from './update.js';
import { updateTemplateDefinition } from './update-template.js';

export { type AslDefinition, TASK_FUNCTION_PLACEHOLDER } from './builder.js';

/** One state machine per lifecycle operation, the same text on Step Functions and locally. */
export function workflowDefinitions(): Record<OperationType, AslDefinition> {
  return {
    onboard: onboardDefinition(),
    'change-tier': changeTierDefinition(),
    suspend: suspendDefinition(),
    resume: resumeDefinition(),
    offboard: offboardDefinition(),
    update: updateDefinition(),
    repair: repairDefinition(),
    'update-template': updateTemplateDefinition(),
  };
}

export { reconcileDefinition } from './reconcile.js';

/** The definition as Step Functions receives it (before the task function ARN is substituted). */
export function definitionText(type: OperationType): string {
  return JSON.stringify(workflowDefinitions()[type], null, 2);
}

/** Replaces the task function placeholder, as CDK's DefinitionSubstitutions does on AWS. */
export function substitute(text: string, taskFunctionArn: string): string {
  return text.split('${TaskFunctionArn}').join(taskFunctionArn);
}
