import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';
import { region } from '#rules/schema';

/**
 * "Tag Change on Resource" (`source: aws.tag`) for an EC2 snapshot or AMI, as EventBridge delivers it for
 * every change to a resource's tags, whichever API made it: `detail.changed-tag-keys` are the keys added,
 * changed or deleted, `detail.tags` the tags after the change, `resources` the resource's ARN (Tag Editor
 * user guide, "Monitor tag changes with serverless workflows and Amazon EventBridge",
 * https://docs.aws.amazon.com/tag-editor/latest/userguide/tag-monitor.html; EventBridge reference, "Tags
 * events", https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-tag.html: delivered best effort).
 * The tags in the event are not what Ferry applies: two changes' events may arrive in either order, so the
 * handler reads the source's tags as they are now (DescribeSnapshots / DescribeImages).
 */
const RESOURCE_ARN =
  /^arn:aws[a-z-]*:ec2:([a-z0-9-]+):(\d{12})?:(snapshot|image)\/((?:snap|ami)-[0-9a-f]{8,17})$/;

export interface TaggedResource {
  kind: 'snapshot' | 'image';
  id: string;
  region: string;
}

export const TagChangeEventSchema = EventBridgeSchema.extend({
  source: z.literal('aws.tag'),
  'detail-type': z.literal('Tag Change on Resource'),
  region,
  resources: z
    .array(z.string())
    .min(1, 'expected the ARN of the resource whose tags changed')
    .refine(
      (arns) => arns.every((arn) => RESOURCE_ARN.test(arn)),
      'expected EC2 snapshot or image ARNs (arn:aws:ec2:REGION:ACCOUNT:snapshot/snap-… or image/ami-…)',
    ),
  detail: z.object({
    service: z.literal('ec2'),
    'resource-type': z.enum(['snapshot', 'image']),
    'changed-tag-keys': z.array(z.string()),
    tags: z.record(z.string(), z.string()).optional(),
    version: z.number().optional(),
  }),
});

export type TagChangeEvent = z.infer<typeof TagChangeEventSchema>;

/** The snapshots or AMIs an event names (one, in the events EC2 sends). */
export function taggedResourcesOf(event: TagChangeEvent): TaggedResource[] {
  return event.resources.flatMap((arn) => {
    const match = RESOURCE_ARN.exec(arn);
    if (!match) return [];
    const [, arnRegion = event.region, , type, id = ''] = match;
    return [{ kind: type === 'image' ? ('image' as const) : ('snapshot' as const), id, region: arnRegion }];
  });
}
