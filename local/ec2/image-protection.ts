import type { ActionHandler, ActionRequest, Ec2Context } from './context.ts';
import { checkIdShape, Ec2Error, invalidValue } from './errors.ts';
import type { ImageRecord } from './records.ts';
import { deregistrationProtectionOf, el } from './render.ts';

/**
 * AMI deregistration protection and deprecation, as the EC2 user guide ("Protect an Amazon EC2 AMI from
 * deregistration", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-deregistration-protection.html;
 * "Deprecate an Amazon EC2 AMI", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-deprecate.html) and
 * the API reference (EnableImageDeregistrationProtection, DisableImageDeregistrationProtection,
 * EnableImageDeprecation, DisableImageDeprecation, DescribeImages) describe them.
 */

/** With `WithCooldown`, protection stays in force for 24 hours after it is disabled. */
export const DEREGISTRATION_COOLDOWN_MS = 24 * 3_600_000;

/**
 * DeregisterImage refuses a protected image (also during a disabled protection's cooldown). The documentation
 * names no error code for it: `OperationNotPermitted` is the sandbox's choice.
 */
export function assertDeregistrable(image: ImageRecord, now: number): void {
  const state = deregistrationProtectionOf(image, now);
  if (state !== 'disabled') {
    throw new Ec2Error(
      'OperationNotPermitted',
      `The image ${image.imageId} has deregistration protection enabled (${state}); disable it first.`,
    );
  }
}

function imageOf(context: Ec2Context, { region, params }: ActionRequest): ImageRecord {
  const imageId = params.required('ImageId');
  checkIdShape('ami', imageId);
  return context.store(region).image(imageId);
}

const EnableImageDeregistrationProtection: ActionHandler = (context, request) => {
  const image = imageOf(context, request);
  image.deregistrationProtection = {
    enabled: true,
    withCooldown: request.params.bool('WithCooldown') ?? false,
  };
  return el('return', 'true');
};

/** Without a cooldown the image can be deregistered at once; with one, only 24 hours later. */
const DisableImageDeregistrationProtection: ActionHandler = (context, request) => {
  const image = imageOf(context, request);
  const protection = image.deregistrationProtection;
  if (protection?.enabled && protection.withCooldown) {
    image.deregistrationProtection = { enabled: false, until: context.now() + DEREGISTRATION_COOLDOWN_MS };
  } else if (protection?.enabled) {
    delete image.deregistrationProtection;
  }
  return el('return', 'true');
};

const MINUTE_MS = 60_000;

const yearsAfter = (at: number, years: number) => {
  const date = new Date(at);
  date.setUTCFullYear(date.getUTCFullYear() + years);
  return date.getTime();
};

/** An AMI with a launch permission for `all` is public. */
const isPublic = (image: ImageRecord) => image.launchPermissions?.has('all') ?? false;

/**
 * EnableImageDeprecation: `DeprecateAt` may not be in the past, and at most 10 years from now (public AMIs: 2
 * years from their creation date); EC2 rounds its seconds to the nearest minute.
 */
const EnableImageDeprecation: ActionHandler = (context, request) => {
  const image = imageOf(context, request);
  const raw = request.params.required('DeprecateAt');
  const at = Date.parse(raw);
  if (Number.isNaN(at)) throw invalidValue('DeprecateAt', raw);
  const now = context.now();
  if (at < now) throw invalidValue('DeprecateAt', raw, 'The deprecation time cannot be in the past.');
  const limit = isPublic(image) ? yearsAfter(image.creationDate, 2) : yearsAfter(now, 10);
  if (at > limit) {
    throw invalidValue(
      'DeprecateAt',
      raw,
      isPublic(image)
        ? 'A public AMI can be deprecated at most 2 years after its creation date.'
        : 'The deprecation time can be at most 10 years from now.',
    );
  }
  image.deprecationTime = Math.round(at / MINUTE_MS) * MINUTE_MS;
  return el('return', true);
};

const DisableImageDeprecation: ActionHandler = (context, request) => {
  const image = imageOf(context, request);
  delete image.deprecationTime;
  return el('return', true);
};

/** Whether a deprecated image is past its deprecation time. */
export const isDeprecated = (image: ImageRecord, now: number) =>
  image.deprecationTime !== undefined && image.deprecationTime <= now;

/**
 * DescribeImages leaves deprecated AMIs out unless `IncludeDeprecated` is true or the request names them by
 * id, except for their owner, who sees them all ("Deprecate an Amazon EC2 AMI"; DescribeImages,
 * IncludeDeprecated: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImages.html).
 */
export function describable(
  image: ImageRecord,
  request: { caller: string; byId: boolean; includeDeprecated: boolean; now: number },
): boolean {
  return (
    request.includeDeprecated ||
    request.byId ||
    image.ownerId === request.caller ||
    !isDeprecated(image, request.now)
  );
}

export const imageProtectionActions: Record<string, ActionHandler> = {
  EnableImageDeregistrationProtection,
  DisableImageDeregistrationProtection,
  EnableImageDeprecation,
  DisableImageDeprecation,
};
