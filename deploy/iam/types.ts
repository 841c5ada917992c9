import { LAMBDA_FUNCTIONS, type LambdaFunction } from '#rules/deployment';
import type { Cfn } from './cfn.ts';

/** The shapes of generated IAM policies, of the functions they are for, and of the deployment they are built in. */

export interface IamContext {
  /** `aws` unless given: `aws-cn`, `aws-us-gov`, or `{ Ref: 'AWS::Partition' }`. */
  partition?: Cfn;
  /** Domain of service endpoints, for `kms:ViaService`; derived from the partition unless given. */
  urlSuffix?: Cfn;
  /** The account Ferry runs in: where an alias or a bare key id in the rules resolves. */
  account: Cfn;
  /** The stack's home Region, where an object source without `region` is; unset, `AWS::Region`. */
  homeRegion?: string;
  stateMachineArns: {
    objectCopy: Cfn;
    snapshotCopy: Cfn;
    imageCopy: Cfn;
    /** Where the rules deploy it (deploy/inventory-machine.ts): the scheduled reconcile starts it. */
    inventoryReconcile?: Cfn;
  };
  /** The copy-waiters table (deploy/copy-waiters-table.ts): event-driven waiting for EC2 copies. */
  copyWaitersTableArn: Cfn;
}

export const FUNCTION_NAMES = LAMBDA_FUNCTIONS;
export type FunctionName = LambdaFunction;

/** `{ operator: { key: value } }`, e.g. `{ StringEquals: { 'kms:ViaService': 's3.us-west-2.amazonaws.com' } }`. */
export type Condition = Record<string, Record<string, Cfn | Cfn[]>>;

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: '*' | Cfn[];
  Condition?: Condition;
}

export type FunctionPolicies = Record<FunctionName, PolicyStatement[]>;
export interface Names {
  partition: Cfn;
  urlSuffix: Cfn;
  account: Cfn;
}
