import { z } from 'zod';
import {
  deprecateAfterSchema,
  deregistrationProtectionSchema,
  snapshotLockSchema,
} from '#ec2/copy-protection';
import { retentionSchema } from '#ec2/retention';
import { rpoSchema } from '#rpo/duration';
import { EC2_MARKER_TAGS, EC2_TAG_LIMITS } from './limits.ts';
import {
  accountId,
  checkAccountAndRole,
  externalId,
  kmsKeyId,
  kmsKeyRegionOf,
  region,
  roleArn,
  ruleName,
  tagMapOf,
} from './schema.ts';
import {
  DEFAULT_IMAGE_DESCRIPTION,
  DEFAULT_IMAGE_NAME,
  DEFAULT_SNAPSHOT_DESCRIPTION,
  IMAGE_PLACEHOLDERS,
  imageNameTemplateProblems,
  SNAPSHOT_PLACEHOLDERS,
  templateProblems,
} from './templates.ts';
import { patternProblem } from './text-pattern.ts';

/**
 * Rules that copy EBS snapshots (`snapshots:`) and AMIs (`images:`) when EC2 reports them created. Same
 * conventions as object rules: closed objects, every error names its path.
 *
 * There is no `replicas:` option and no loop check here, unlike object rules: an EC2 copy is never copied
 * again. Copies carry Ferry's marker tags (the reserved `ferry:` keys) and the handlers skip them, and
 * copySnapshot events are not even subscribed, so a copy landing in a source Region cannot start a loop.
 */

const VOLUME_ID = /^vol-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** Largest EBS volume (io2 Block Express, gp3): 64 TiB. */
const MAX_VOLUME_GIB = 65_536;

/** Tags a source must carry (EC2 allows 50 per resource). */
const filterTags = tagMapOf({
  limits: EC2_TAG_LIMITS,
  limitName: 'the EC2 tag limit',
  reservedPrefixes: ['aws:'],
});
/**
 * Tags put on a copy: `ferry:` keys are Ferry's markers, which the handlers rely on to skip copies, and the
 * markers count toward EC2's 50 tags per resource, so a copy can take 50 less Ferry's.
 */
const copyTags = tagMapOf({
  limits: EC2_TAG_LIMITS,
  maxTags: EC2_TAG_LIMITS.maxTags - EC2_MARKER_TAGS,
  limitName: `the EC2 tag limit of ${EC2_TAG_LIMITS.maxTags}, less the ${EC2_MARKER_TAGS} marker tags Ferry puts on every copy`,
  reservedPrefixes: ['aws:', 'ferry:'],
});

/** A list in which each entry may appear once; a repeat is reported at its own index. */
const uniqueList = <Item extends z.ZodType<string>>(item: Item, empty: string) =>
  z
    .array(item)
    .min(1, empty)
    .superRefine((items, ctx) => {
      items.forEach((value, index) => {
        const first = items.indexOf(value);
        if (first !== index)
          ctx.addIssue({
            code: 'custom',
            path: [index],
            message: `"${value}" is already listed at [${first}]`,
          });
      });
    });

/**
 * A regular expression with RE2 syntax, unanchored (write ^ and $ to anchor it); RE2 must compile it, so it
 * matches in linear time (see text-pattern.ts): no backreferences, no lookahead or lookbehind.
 */
const pattern = (what: string) =>
  z
    .string()
    .min(1, `expected a regular expression for the ${what}`)
    .superRefine((source, ctx) => {
      const problem = patternProblem(source);
      if (problem !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a regular expression for the ${what}, but it does not compile: ${problem} (patterns use RE2 syntax, which matches in linear time: no backreferences, no lookahead or lookbehind)`,
        });
      }
    });

const template = (placeholders: readonly string[]) =>
  z.string().superRefine((text, ctx) => {
    for (const message of templateProblems(text, placeholders)) ctx.addIssue({ code: 'custom', message });
  });

const volumeSize = (bound: string) =>
  z
    .number()
    .int('expected a whole number of GiB')
    .min(1, `expected a ${bound} of at least 1 GiB`)
    .max(
      MAX_VOLUME_GIB,
      `expected a ${bound} of at most ${MAX_VOLUME_GIB} GiB (64 TiB, the largest EBS volume)`,
    );

const completionDurationMinutes = z
  .number()
  .refine(
    (minutes) => Number.isInteger(minutes) && minutes >= 15 && minutes <= 2880 && minutes % 15 === 0,
    'expected 15–2880 minutes in steps of 15 (a time-based copy must complete within 15 minutes to 48 hours)',
  );

/** What every EC2 destination has: where the copy goes, under which key, with which tags, kept how long. */
const destinationFields = (perSource: string) => ({
  region,
  /** Another account to copy into; needs roleArn, a role in that account that makes the copy. */
  account: accountId.optional(),
  roleArn: roleArn.optional(),
  /** The ExternalId the role's trust policy requires; required whenever roleArn is set. */
  externalId: externalId.optional(),
  /** Key for the copy, in the destination Region; default: the key EC2 picks (the source's, or aws/ebs). */
  kmsKeyId: kmsKeyId.optional(),
  /** Copy the source's user tags (EC2 does not). */
  copyTags: z.boolean().default(true),
  /** Extra tags on every copy. */
  tags: copyTags.default({}),
  retain: retentionSchema(perSource).optional(),
});

function checkEc2Destination<
  Destination extends {
    region: string;
    account?: string;
    roleArn?: string;
    externalId?: string;
    kmsKeyId?: string;
  },
>(destination: Destination, ctx: z.RefinementCtx<Destination>): void {
  checkAccountAndRole(destination, ctx);
  if (destination.account && !destination.roleArn) {
    ctx.addIssue({
      code: 'custom',
      path: ['roleArn'],
      message: `required when account is set: an EC2 copy belongs to the account that makes it, so Ferry must assume a role in ${destination.account}`,
    });
  }
  const keyRegion = destination.kmsKeyId ? kmsKeyRegionOf(destination.kmsKeyId) : undefined;
  if (keyRegion !== undefined && keyRegion !== destination.region) {
    ctx.addIssue({
      code: 'custom',
      path: ['kmsKeyId'],
      message: `the key is in ${keyRegion}, but the copy is made in ${destination.region}: give a key of ${destination.region}`,
    });
  }
}

export const SnapshotSourceSchema = z
  .strictObject({
    /** The Regions whose new snapshots this rule reads. */
    regions: uniqueList(region, 'expected at least one source Region'),
    /** Every tag listed must be on the snapshot with this exact value. */
    tags: filterTags.optional(),
    volumeIds: uniqueList(
      z.string().regex(VOLUME_ID, 'expected an EBS volume id (vol- and 8 or 17 hex digits)'),
      'expected at least one volume id (or no volumeIds to copy snapshots of any volume)',
    ).optional(),
    minVolumeSize: volumeSize('minVolumeSize').optional(),
    maxVolumeSize: volumeSize('maxVolumeSize').optional(),
    encrypted: z.boolean().optional(),
    /** Regular expression the snapshot's description must match. */
    description: pattern('snapshot description').optional(),
  })
  .superRefine((source, ctx) => {
    if (
      source.minVolumeSize !== undefined &&
      source.maxVolumeSize !== undefined &&
      source.minVolumeSize > source.maxVolumeSize
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxVolumeSize'],
        message: 'must not be smaller than minVolumeSize',
      });
    }
  });

export const SnapshotDestinationSchema = z
  .strictObject({
    ...destinationFields('source volume'),
    description: template(SNAPSHOT_PLACEHOLDERS).default(DEFAULT_SNAPSHOT_DESCRIPTION),
    /** A time-based copy, guaranteed to complete within this many minutes. */
    completionDurationMinutes: completionDurationMinutes.optional(),
    /** Move the copy to the archive tier once it is completed. */
    archive: z.boolean().default(false),
    /** Lock each copy once completed (LockSnapshot); retention waits for the lock (src/ec2/copy-protection.ts). */
    lock: snapshotLockSchema.optional(),
  })
  .superRefine(checkEc2Destination);

export const ImageSourceSchema = z.strictObject({
  regions: uniqueList(region, 'expected at least one source Region'),
  tags: filterTags.optional(),
  /** Regular expression the AMI's name must match. */
  name: pattern('AMI name').optional(),
  encrypted: z.boolean().optional(),
});

export const ImageDestinationSchema = z
  .strictObject({
    ...destinationFields('source AMI name'),
    /** Template of the copy's AMI name; checked as far as it can be before a copy (see templates.ts). */
    name: z
      .string()
      .superRefine((text, ctx) => {
        for (const message of imageNameTemplateProblems(text)) ctx.addIssue({ code: 'custom', message });
      })
      .default(DEFAULT_IMAGE_NAME),
    description: template(IMAGE_PLACEHOLDERS).default(DEFAULT_IMAGE_DESCRIPTION),
    /** Lock each snapshot behind the copy once it is available (LockSnapshot). */
    lock: snapshotLockSchema.optional(),
    /** Protect the copy from deregistration (EnableImageDeregistrationProtection); retention then keeps it. */
    deregistrationProtection: deregistrationProtectionSchema.optional(),
    /** Deprecate the copy this long after it was made (EnableImageDeprecation), as DLM's deprecate rule does. */
    deprecateAfter: deprecateAfterSchema.optional(),
  })
  .superRefine(checkEc2Destination);

type Report = (path: (string | number)[], message: string) => void;

/**
 * Checks across a rule's source and destinations: encrypted sources keep a key, cross-account copies name
 * one, and a copy that would be its own source (same Region and account, nothing changed) is refused.
 */
function checkEncryptionAndPlacement(
  kind: { key: 'snapshots' | 'images'; things: string; thing: string },
  source: { regions: readonly string[]; encrypted?: boolean | undefined },
  destinations: readonly { region: string; account?: string | undefined; kmsKeyId?: string | undefined }[],
  report: Report,
): void {
  const firstByPlace = new Map<string, number>();
  destinations.forEach((destination, index) => {
    const place = `${destination.region}|${destination.account ?? ''}`;
    const first = firstByPlace.get(place);
    if (first === undefined) firstByPlace.set(place, index);
    else
      report(
        ['to', index],
        `to[${first}] already copies to ${destination.region}${destination.account ? ` in account ${destination.account}` : ''}: ` +
          'one rule makes one copy per Region and account (Ferry finds its copy again by source and rule)',
      );
    if (destination.kmsKeyId !== undefined) return;
    if (source.encrypted === true) {
      report(
        ['to', index, 'kmsKeyId'],
        `required because this rule copies encrypted ${kind.things} (${kind.key}.encrypted: true): ` +
          `a copy in ${destination.region} needs a key there, and an encrypted source never gets an unencrypted copy`,
      );
    } else if (destination.account !== undefined && source.encrypted !== false) {
      report(
        ['to', index, 'kmsKeyId'],
        `required for a copy into account ${destination.account} unless the rule sets ${kind.key}.encrypted: false: ` +
          `an encrypted ${kind.thing} can be shared with another account only under a customer-managed key, ` +
          'and its copy there must be encrypted under a key that account can use',
      );
    }
    if (destination.account === undefined && source.regions.includes(destination.region)) {
      report(
        ['to', index],
        `the copy would duplicate the source: ${destination.region} is a source Region of this rule and no other ` +
          'account is set; set kmsKeyId to re-encrypt the copy, or copy to another Region or account',
      );
    }
  });
}

export const SnapshotRuleSchema = z
  .strictObject({
    name: ruleName,
    description: z.string().optional(),
    /** The recovery-point objective of each copy (src/rpo/). */
    rpo: rpoSchema.optional(),
    snapshots: SnapshotSourceSchema,
    to: z.array(SnapshotDestinationSchema).min(1, 'expected at least one destination'),
  })
  .superRefine((rule, ctx) => {
    checkEncryptionAndPlacement(
      { key: 'snapshots', things: 'snapshots', thing: 'snapshot' },
      rule.snapshots,
      rule.to,
      (path, message) => ctx.addIssue({ code: 'custom', path, message }),
    );
  });

export const ImageRuleSchema = z
  .strictObject({
    name: ruleName,
    description: z.string().optional(),
    /** The recovery-point objective of each copy (src/rpo/). */
    rpo: rpoSchema.optional(),
    images: ImageSourceSchema,
    to: z.array(ImageDestinationSchema).min(1, 'expected at least one destination'),
  })
  .superRefine((rule, ctx) => {
    const report: Report = (path, message) => ctx.addIssue({ code: 'custom', path, message });
    checkEncryptionAndPlacement(
      { key: 'images', things: 'AMIs', thing: 'AMI' },
      rule.images,
      rule.to,
      report,
    );
    rule.to.forEach((destination, index) => {
      // With the rule's own name known, {rule} counts at its real length. Only when the field's own check
      // passed: zod runs this refinement even after custom issues in the fields, which would repeat them.
      if (imageNameTemplateProblems(destination.name).length === 0) {
        for (const message of imageNameTemplateProblems(destination.name, rule.name))
          report(['to', index, 'name'], message);
      }
      if (
        destination.name === '{name}' &&
        destination.account === undefined &&
        rule.images.regions.includes(destination.region)
      ) {
        report(
          ['to', index, 'name'],
          `would give the copy its source's name in ${destination.region}, where the source is: AMI names are ` +
            'unique per Region and account, so EC2 would refuse the copy; add {sourceId} or other text',
        );
      }
    });
  });

export type SnapshotSource = z.infer<typeof SnapshotSourceSchema>;
export type SnapshotDestination = z.infer<typeof SnapshotDestinationSchema>;
export type SnapshotRule = z.infer<typeof SnapshotRuleSchema>;
export type ImageSource = z.infer<typeof ImageSourceSchema>;
export type ImageDestination = z.infer<typeof ImageDestinationSchema>;
export type ImageRule = z.infer<typeof ImageRuleSchema>;
