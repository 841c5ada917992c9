import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';

/**
 * "EC2 AMI State Change" as EventBridge delivers it, extended from the Powertools EventBridge schema. EC2
 * sends it when an AMI becomes available, failed, deregistered or disabled, on a best-effort basis (the
 * reconcile run catches what is lost). The event names the AMI only: its name, tags and encryption come
 * from DescribeImages.
 */
export const ImageStateChangeEventSchema = EventBridgeSchema.extend({
  source: z.literal('aws.ec2'),
  'detail-type': z.literal('EC2 AMI State Change'),
  detail: z.object({
    ImageId: z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'expected an AMI id (ami- and 8 or 17 hex digits)'),
    /** available, failed, deregistered, disabled, … */
    State: z.string().min(1),
    ErrorMessage: z.string().optional(),
    RequestId: z.string().optional(),
  }),
});

export type ImageStateChangeEvent = z.infer<typeof ImageStateChangeEventSchema>;

/** The AMI an event names, and whether Ferry should copy it (with the reason when not, for the logs). */
export interface AvailableImage {
  imageId: string;
  region: string;
  accepted: boolean;
  reason?: string;
}

/** Only an AMI that became `available` is copied; any other state is returned as skipped with its reason. */
export function availableImageOf(event: ImageStateChangeEvent): AvailableImage {
  const { ImageId, State, ErrorMessage } = event.detail;
  const image = { imageId: ImageId, region: event.region };
  if (State === 'available') return { ...image, accepted: true };
  return { ...image, accepted: false, reason: `state ${State}${ErrorMessage ? `: ${ErrorMessage}` : ''}` };
}
