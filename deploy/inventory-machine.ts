import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { workLocationOf } from '#reconcile/inventory/work';
import { type FerryConfig, objectRulesOf } from '#rules/config';
import { executionsArnOf, s3KeysArn } from './iam/arns.ts';
import type { Cfn } from './iam/cfn.ts';
import { StatementList } from './iam/statement-list.ts';
import type { Names, PolicyStatement } from './iam/types.ts';

/**
 * The inventory-reconcile state machine (statemachines/inventory-reconcile.asl.yaml) and its own role, generated
 * from the rules at package time: both only when some object rule names an inventory (`objects.inventory`).
 *
 * Generated here rather than listed under serverless.yml's `stepFunctions`: the Serverless Step Functions plugin
 * (lib/deploy/stepFunctions/compileIamRole.js) gives a machine without `role:` a policy built from its states,
 * and for a Map whose ItemReader / ResultWriter name their bucket by a path (`Bucket.$`) that is s3:GetObject
 * and s3:PutObject on `*`; and a machine listed there is deployed for every configuration. The role below names
 * exactly what the machine's own states call, after "IAM policies for using Distributed Map states"
 * (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html):
 * - states:StartExecution on the machine itself: each Distributed Map runs its children as executions of it;
 * - states:DescribeExecution and states:StopExecution on those executions (`execution:NAME/MAP:ID`, written
 *   `NAME/*` on that page, and the machine's own `NAME:*`);
 * - ItemReader's s3:GetObject of the plan's item lists, and ResultWriter's s3:PutObject, s3:GetObject,
 *   s3:ListMultipartUploadParts and s3:AbortMultipartUpload, both in the run's work folder only
 *   (src/reconcile/inventory/work.ts); the inventory reports themselves are read by the inventory-batch
 *   function with its own role, never by the machine;
 * - lambda:InvokeFunction on the inventory-batch function, the only Task resource.
 * No logging configuration: delivering a machine's logs needs logs:CreateLogDelivery and its kin on `*`
 * (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html); failed runs reach the alert topic
 * through ExecutionFailedRule and their children's failures are in the ResultWriter export.
 */

export const INVENTORY_MACHINE = 'inventory-reconcile';
export const INVENTORY_MACHINE_ID = 'InventoryReconcileStateMachine';
export const INVENTORY_MACHINE_ROLE_ID = 'InventoryReconcileRole';
/** The substitution that stands for the inventory-batch function's ARN in the deployed definition. */
const FUNCTION_ARN_VARIABLE = 'InventoryBatchFunctionArn';

interface MachineDeployment {
  service: string;
  stage: string;
}

type Resource = { Type: string; Properties: Record<string, Cfn | unknown>; [key: string]: unknown };

export const inventoryMachineName = (deployment: MachineDeployment): string =>
  `${deployment.service}-${deployment.stage}-${INVENTORY_MACHINE}`;

/** The rules the machine serves: object rules with a source inventory. */
const inventoryRules = (config: Pick<FerryConfig, 'rules'>) =>
  objectRulesOf(config).filter((rule) => rule.objects.inventory !== undefined);

export const deploysInventoryMachine = (config: Pick<FerryConfig, 'rules'>): boolean =>
  inventoryRules(config).length > 0;

/** The machine's ARN from its name (as the other machines': a `Ref` would make role → machine cycles). */
export const inventoryMachineArn = (deployment: MachineDeployment): Cfn => ({
  'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${inventoryMachineName(deployment)}`,
});

/** The inventory-batch function, by the name the framework gives it (`<service>-<stage>-inventoryBatch`). */
const functionArn = (deployment: MachineDeployment): Cfn => ({
  'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${deployment.service}-${deployment.stage}-inventoryBatch`,
});

/**
 * The definition as deployed: every Task's `Fn::GetAtt` of the inventory-batch function (which the sandbox
 * resolves by name, local/state-machines.ts) becomes a DefinitionSubstitutions variable, the form
 * AWS::StepFunctions::StateMachine documents for values known at deploy time
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html).
 */
export function inventoryMachineDefinition(): Record<string, unknown> {
  const source = parse(
    readFileSync(new URL('../statemachines/inventory-reconcile.asl.yaml', import.meta.url), 'utf8'),
  ) as Record<string, unknown>;
  const substitute = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(substitute);
    if (value === null || typeof value !== 'object') return value;
    const attribute = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
    if (Array.isArray(attribute) && attribute[0] === 'InventoryBatchLambdaFunction')
      return `\${${FUNCTION_ARN_VARIABLE}}`;
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, substitute(inner)]));
  };
  return substitute(source) as Record<string, unknown>;
}

/** The machine role's statements: only what its states call, on the resources the rules name. */
export function inventoryMachineStatements(
  config: Pick<FerryConfig, 'rules'>,
  deployment: MachineDeployment,
  names: Names,
): PolicyStatement[] {
  const list = new StatementList();
  const machine = inventoryMachineArn(deployment);
  list.add({ sid: 'RunMapChildren', actions: ['states:StartExecution'], resources: [machine] });
  const executions = executionsArnOf(machine);
  const children =
    typeof executions === 'object' && 'Fn::Sub' in executions && typeof executions['Fn::Sub'] === 'string'
      ? { 'Fn::Sub': `${executions['Fn::Sub'].slice(0, -':*'.length)}/*` }
      : executions;
  list.add({
    sid: 'WatchMapChildren',
    actions: ['states:DescribeExecution', 'states:StopExecution'],
    resources: [children, executions],
  });
  for (const rule of inventoryRules(config)) {
    const work = workLocationOf(rule);
    if (!work) continue;
    const folder = s3KeysArn(names, work.bucket, work.prefix);
    list.add({ sid: 'ReadItemLists', actions: ['s3:GetObject'], resources: [folder] });
    list.add({
      sid: 'WriteMapResults',
      actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
      resources: [folder],
    });
  }
  list.add({
    sid: 'InvokeInventoryBatch',
    actions: ['lambda:InvokeFunction'],
    resources: [functionArn(deployment)],
  });
  return list.build('inventoryReconcile');
}

/** The machine and its role, or nothing when no rule names an inventory. */
export function inventoryMachineResources(
  config: Pick<FerryConfig, 'rules'>,
  deployment: MachineDeployment,
  names: Names,
  rolePath: string,
): Record<string, Resource> {
  if (!deploysInventoryMachine(config)) return {};
  return {
    [INVENTORY_MACHINE_ROLE_ID]: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Path: rolePath,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'states.amazonaws.com' },
              Action: 'sts:AssumeRole',
              // Against the confused deputy: only this account's state machines assume it
              // (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html).
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'ferry',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: inventoryMachineStatements(config, deployment, names),
            },
          },
        ],
      },
    },
    [INVENTORY_MACHINE_ID]: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: inventoryMachineName(deployment),
        StateMachineType: 'STANDARD',
        RoleArn: { 'Fn::GetAtt': [INVENTORY_MACHINE_ROLE_ID, 'Arn'] },
        Definition: inventoryMachineDefinition(),
        DefinitionSubstitutions: { [FUNCTION_ARN_VARIABLE]: functionArn(deployment) },
      },
    },
  };
}
