import '../core/polyfills.js';
import aslValidator from 'asl-validator';
import { StateMachine } from 'aws-local-stepfunctions';
import { workflowDefinitions, definitionText, substitute } from '../workflows/definitions/index.js';
for (const [k, d] of Object.entries(workflowDefinitions())) {
  const r = aslValidator(d as any);
  console.log(k, r.isValid, JSON.stringify(r.errorsText ? r.errorsText() : r.errors).slice(0, 300));
}
const def = JSON.parse(substitute(definitionText('suspend'), 'arn:aws:lambda:us-east-1:000000000000:function:tasks'));
const sm = new StateMachine(def, {});
let calls: any[] = [];
const handlers: any = {};
for (const [name, s] of Object.entries<any>(def.States)) if (s.Type === 'Task') handlers[name] = async (input: any) => { calls.push(input); return { done: true }; };
const ex = sm.run({ operationId: 'op', tenantId: 't', pollSeconds: 5 }, { overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: {} } });
console.log(await ex.result, JSON.stringify(calls[1]));
