import { type ActionHandler, type Ec2Context, GiB } from './context.ts';
import { checkIdShape, Ec2Error, invalidValue } from './errors.ts';
import { snapshotCopyLimit } from './faults.ts';
import { DEFAULT_EBS_KEY } from './kms.ts';
import { tagSpecificationsOf, tagsFor } from './query.ts';
import type { SnapshotRecord } from './records.ts';
import { el, tagSet } from './render.ts';
import { kmsKeyNeedsEncrypted } from './snapshot-actions.ts';

/** EC2 documents that copied snapshots carry an arbitrary volume id "that should not be used for any purpose". */
export const COPIED_VOLUME_ID = 'vol-ffffffff';

/**
 * A copy to a key that does not exist in the destination fails long before its bytes would be across:
 * EC2 finds out when it first needs the key. A minute of virtual time stands for that.
 */
export const BAD_KEY_FAILURE_DELAY_MS = 60_000;

export interface CopySpec {
  description: string;
  encrypted?: boolean;
  kmsKeyId?: string;
  tags: Map<string, string>;
  completionDurationMinutes?: number;
  /** The image copy this snapshot copy backs. */
  imageId?: string;
  /** A `copy-error` fault: fail when the copy would complete. */
  fail: boolean;
}

/** A copy of a completed snapshot into `destination`, `pending` until its bytes are across (virtual clock). */
export function startSnapshotCopy(
  context: Ec2Context,
  destination: string,
  source: SnapshotRecord,
  spec: CopySpec,
): SnapshotRecord {
  const now = context.now();
  // An encrypted source only ever gives an encrypted copy; without a key, the destination's default EBS key.
  const encrypted = source.encrypted || spec.encrypted === true;
  const kmsKeyId = encrypted ? (spec.kmsKeyId ?? DEFAULT_EBS_KEY) : undefined;
  const transferMs = Math.ceil(((source.volumeSizeGiB * GiB) / context.copyBytesPerSecond) * 1000);
  const endsAt =
    now + Math.min(transferMs, (spec.completionDurationMinutes ?? Number.POSITIVE_INFINITY) * 60_000);
  const store = context.store(destination);
  const failure =
    kmsKeyId && !context.kms.exists(destination, kmsKeyId)
      ? {
          at: Math.min(endsAt, now + BAD_KEY_FAILURE_DELAY_MS),
          message: 'Given key ID is not accessible',
          code: 'Client.InvalidKMSKey.InvalidState',
        }
      : spec.fail
        ? {
            at: endsAt,
            message: 'Snapshot copy failed with an internal error (fault injected by the Ferry sandbox)',
            code: 'Server.InternalError',
          }
        : undefined;
  const incremental = [...store.snapshots.values()].some(
    (s) =>
      s.state === 'completed' &&
      s.copy?.sourceRegion === source.region &&
      s.copy.sourceVolumeId === source.volumeId &&
      s.kmsKeyId === kmsKeyId,
  );
  const copy: SnapshotRecord = {
    snapshotId: context.ids.next('snap'),
    region: destination,
    ownerId: context.account,
    volumeId: COPIED_VOLUME_ID,
    volumeSizeGiB: source.volumeSizeGiB,
    description: spec.description,
    state: 'pending',
    progress: 0,
    startTime: now,
    encrypted,
    storageTier: 'standard',
    tags: spec.tags,
    createVolumePermissions: new Set(),
    copy: {
      sourceRegion: source.region,
      sourceSnapshotId: source.snapshotId,
      sourceVolumeId: source.volumeId,
      endsAt,
      incremental,
      ...(failure ? { failure } : {}),
      ...(spec.imageId ? { imageId: spec.imageId } : {}),
    },
    ...(kmsKeyId ? { kmsKeyId } : {}),
    ...(spec.completionDurationMinutes ? { completionDurationMinutes: spec.completionDurationMinutes } : {}),
  };
  store.snapshots.set(copy.snapshotId, copy);
  return copy;
}

/** `KmsKeyId` is only accepted together with `Encrypted=true`. */
export function encryptionOf(params: {
  bool(name: string): boolean | undefined;
  get(name: string): string | undefined;
}) {
  const encrypted = params.bool('Encrypted');
  const kmsKeyId = params.get('KmsKeyId');
  if (kmsKeyId && encrypted !== true) throw kmsKeyNeedsEncrypted();
  return { ...(encrypted !== undefined ? { encrypted } : {}), ...(kmsKeyId ? { kmsKeyId } : {}) };
}

/** Time-based copies: 15 minutes to 48 hours, in 15-minute steps. */
function completionDurationOf(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value < 15 || value > 2880 || value % 15 !== 0) {
    throw invalidValue(
      'CompletionDurationMinutes',
      String(value),
      'Expecting a multiple of 15 between 15 and 2880.',
    );
  }
  return value;
}

/**
 * Runs in the destination Region (the request's). The SDK and the CLI also send `PresignedUrl` and
 * `DestinationRegion`, signed for the source Region; the fake reads the source from `SourceRegion`.
 */
const CopySnapshot: ActionHandler = (context, { region, params, failCopy }) => {
  const sourceRegion = params.required('SourceRegion');
  const sourceId = params.required('SourceSnapshotId');
  checkIdShape('snap', sourceId);
  const encryption = encryptionOf(params);
  const completionDurationMinutes = completionDurationOf(params.int('CompletionDurationMinutes'));
  const source = context.store(sourceRegion).snapshot(sourceId);
  if (source.state !== 'completed') {
    throw new Ec2Error(
      'IncorrectState',
      `Snapshot ${sourceId} is not in the completed state and cannot be copied.`,
    );
  }
  const store = context.store(region);
  if (store.runningSnapshotCopies >= context.limits.snapshotCopies)
    throw snapshotCopyLimit(context.limits.snapshotCopies);
  const copy = startSnapshotCopy(context, region, source, {
    description:
      params.get('Description') ?? `[Copied ${sourceId} from ${sourceRegion}] ${source.description}`.trim(),
    tags: tagsFor(tagSpecificationsOf(params, ['snapshot']), 'snapshot'),
    fail: failCopy,
    ...encryption,
    ...(completionDurationMinutes ? { completionDurationMinutes } : {}),
  });
  return tagSet(copy.tags) + el('snapshotId', copy.snapshotId);
};

export const snapshotCopyActions: Record<string, ActionHandler> = { CopySnapshot };
