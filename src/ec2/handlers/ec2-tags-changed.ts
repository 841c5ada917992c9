import { TagChangeEventSchema, taggedResourcesOf } from '#ec2/tag-follow/event';
import { type Ec2TagFollowDeps, followEc2TagChange, throwIfTagSyncRetryable } from '#ec2/tag-follow/follow';
import { createEc2ClientFactory } from '#foundation/aws-clients';
import { functionBaseFromEnvironment } from '#foundation/function-base';
import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { imageRulesOf, snapshotRulesOf } from '#rules/config';

/** EC2 "Tag Change on Resource" (aws.tag) on a source snapshot or AMI → its Ferry copies' tags follow. */
export function createEc2TagsChangedHandler(tools: Powertools, deps: Ec2TagFollowDeps) {
  return instrumented(tools, TagChangeEventSchema, async (event) => {
    const outcomes = [];
    for (const resource of taggedResourcesOf(event))
      outcomes.push(...(await followEc2TagChange(resource, deps)));
    return throwIfTagSyncRetryable(outcomes);
  });
}

/** ec2TagsChanged's wiring at Lambda init: EC2 in every Region (and destination roles), and the EC2 rules. */
export function ec2TagsChangedRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  const deps: Ec2TagFollowDeps = {
    ...base.common,
    ec2: createEc2ClientFactory(base.clientOptions),
    snapshotRules: snapshotRulesOf(base.config),
    imageRules: imageRulesOf(base.config),
  };
  return { tools: base.tools, deps };
}

/** The deployed function, wired at Lambda init. */
export function ec2TagsChangedHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = ec2TagsChangedRuntimeFromEnvironment(env);
  return createEc2TagsChangedHandler(tools, deps);
}
