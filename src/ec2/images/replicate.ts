import { DescribeImagesCommand, type Image } from '@aws-sdk/client-ec2';
import type { Ec2CopyStarter } from '#ec2/copy-machine/contract';
import { isFerryCopy, tagMap } from '#ec2/markers';
import { type StartOutcome, skip, startCopies } from '#ec2/start-copies';
import type { Ec2ClientFactory } from '#foundation/aws-clients';
import type { Log } from '#foundation/observability/powertools';
import type { ReplicationMetrics } from '#foundation/observability/replication-metrics';
import type { ImageRule } from '#rules/ec2-schema';
import { availableImageOf, type ImageStateChangeEvent } from './event.ts';
import { type ImageFacts, planImageCopies } from './router.ts';

export interface ImageReplicationDeps {
  rules: readonly ImageRule[];
  ec2: Ec2ClientFactory;
  copies: Ec2CopyStarter;
  log: Log;
  metrics: ReplicationMetrics;
}

/** What the router needs of an AMI, from DescribeImages. */
export const imageFactsOf = (image: Image, region: string): ImageFacts => ({
  imageId: image.ImageId ?? '',
  region,
  name: image.Name ?? '',
  ...(image.Description ? { description: image.Description } : {}),
  // An AMI is encrypted when any of its EBS snapshots is.
  encrypted: (image.BlockDeviceMappings ?? []).some((mapping) => mapping.Ebs?.Encrypted === true),
  tags: tagMap(image.Tags),
});

/**
 * An AMI became available: read it once (tags, name and encryption are not in the event), route it with
 * the pure router, and start one image-copy execution per destination. Other states and Ferry's own copies
 * are skipped with their reason.
 */
export async function replicateImage(
  event: ImageStateChangeEvent,
  deps: ImageReplicationDeps,
): Promise<StartOutcome[]> {
  const available = availableImageOf(event);
  const { imageId, region } = available;
  if (!available.accepted)
    return [skip(imageId, 'not-a-creation', available.reason ?? 'not available', deps)];

  const image = await describeImage(deps.ec2({ region }), imageId);
  if (!image) return [skip(imageId, 'source-gone', `${imageId} no longer exists in ${region}`, deps)];
  const facts = imageFactsOf(image, region);
  if (isFerryCopy(facts.tags)) return [skip(imageId, 'ferry-copy', `${imageId} is a copy Ferry made`, deps)];

  const plans = planImageCopies(deps.rules, facts);
  if (plans.length === 0)
    return [skip(imageId, 'no-matching-rule', `no image rule matches ${imageId}`, deps)];
  return startCopies(
    plans.map((plan) => ({
      kind: 'image' as const,
      rule: plan.rule.name,
      destinationIndex: plan.destinationIndex,
      destination: plan.destination,
      source: {
        id: imageId,
        region,
        account: image.OwnerId ?? event.account,
        encrypted: facts.encrypted,
        description: facts.description ?? '',
        name: facts.name,
        tags: { ...facts.tags },
      },
      eventTime: event.time,
      ...(plan.rule.rpo !== undefined ? { rpo: plan.rule.rpo } : {}),
    })),
    deps,
  );
}

/** DescribeImages of one AMI: undefined when it no longer exists (routing and the RPO's dead letters read it so). */
export async function describeImage(
  client: ReturnType<Ec2ClientFactory>,
  imageId: string,
): Promise<Image | undefined> {
  try {
    const { Images } = await client.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
    return Images?.[0];
  } catch (error) {
    if ((error as Error).name !== 'InvalidAMIID.NotFound') throw error;
    return undefined;
  }
}
