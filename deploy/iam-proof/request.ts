import type { FunctionName } from '../iam/types.ts';

/**
 * One authorization that IAM makes for an AWS call Ferry made: who asks, for which action, on which
 * resource, with which request context. One API call may need several (CopyObject: s3:PutObject on the
 * replica, s3:GetObject on the source, kms:GenerateDataKey through S3 on the destination key, …).
 *
 * The sandbox records the calls each function makes (local/call-recorder.ts), `requestsOf` turns each into
 * these (deploy/iam-proof/authorization.ts, after AWS's Service Authorization Reference), and the evaluator
 * checks each against the policies the package generates (deploy/iam-proof/evaluate.ts).
 */
export interface IamRequest {
  /**
   * Who makes the request: a Ferry function with its own role, or a destination's role (deployed from
   * deploy/cross-account-role.yml) that the function assumed, or a state machine's own role (the calls its
   * Distributed Map states make: ItemReader, ResultWriter, child executions, its Tasks' invocations).
   */
  principal: { function: FunctionName } | { role: string; via: FunctionName } | { stateMachine: string };
  /** `s3:GetObject`, `ec2:CreateTags`, `sts:AssumeRole`, … */
  action: string;
  /** The resource's concrete ARN (`arn:aws:s3:::bucket/key`), or `*` for actions without resource types. */
  resource: string;
  /**
   * The condition keys the request carries that Ferry's policies may test: `aws:RequestedRegion`,
   * `kms:ViaService`, `aws:ResourceTag/<key>`, `aws:RequestTag/<key>`, `aws:TagKeys`, `ec2:CreateAction`,
   * `ec2:Add/userId`, `s3:prefix`, `s3:x-amz-acl`, `sts:ExternalId`, `kms:GrantIsForAWSResource`, ….
   */
  context: Record<string, string | string[]>;
  /** The API call it comes from, for reports: `s3:CopyObject`, `ec2:CopyImage`, `states:StartExecution`. */
  call: string;
}
