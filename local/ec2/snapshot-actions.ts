import type { ActionHandler, ActionRequest, Ec2Context } from './context.ts';
import { checkIdShape, Ec2Error, invalidValue, missingParameter } from './errors.ts';
import { multiVolumeSnapshotsCreated, snapshotCreated } from './events.ts';
import { matchesFilters, paginate, snapshotFields } from './filters.ts';
import { isoTime } from './ids.ts';
import { DEFAULT_EBS_KEY } from './kms.ts';
import { filtersOf, type QueryParams, tagSpecificationsOf, tagsFor } from './query.ts';
import type { SnapshotRecord, VolumeRecord } from './records.ts';
import { el, itemSet, snapshotInfoXml, snapshotXml, volumeXml } from './render.ts';
import { assertDeletable } from './snapshot-locks.ts';
import { mergedTags } from './tag-limits.ts';

export interface VolumeSpec {
  sizeGiB: number;
  encrypted?: boolean;
  kmsKeyId?: string;
  availabilityZone?: string;
  tags?: Record<string, string> | Map<string, string>;
}

export function createVolume(context: Ec2Context, region: string, spec: VolumeSpec): VolumeRecord {
  if (spec.kmsKeyId && !spec.encrypted) throw kmsKeyNeedsEncrypted();
  const volume: VolumeRecord = {
    volumeId: context.ids.next('vol'),
    region,
    sizeGiB: spec.sizeGiB,
    availabilityZone: spec.availabilityZone ?? `${region}a`,
    encrypted: spec.encrypted ?? false,
    createTime: context.now(),
    tags: new Map(spec.tags instanceof Map ? spec.tags : Object.entries(spec.tags ?? {})),
    ...(spec.encrypted ? { kmsKeyId: spec.kmsKeyId ?? DEFAULT_EBS_KEY } : {}),
  };
  context.store(region).volumes.set(volume.volumeId, volume);
  return volume;
}

export const kmsKeyNeedsEncrypted = () =>
  new Ec2Error(
    'InvalidParameterDependency',
    'The parameter KmsKeyId requires the parameter Encrypted to be set.',
  );

/** A new snapshot of a volume, `pending` until the next turn of the event loop. */
function snapshotVolume(
  context: Ec2Context,
  volume: VolumeRecord,
  description: string,
  tags: Map<string, string>,
): SnapshotRecord {
  const snapshot: SnapshotRecord = {
    snapshotId: context.ids.next('snap'),
    region: volume.region,
    ownerId: context.account,
    volumeId: volume.volumeId,
    volumeSizeGiB: volume.sizeGiB,
    description,
    state: 'pending',
    progress: 0,
    startTime: context.now(),
    encrypted: volume.encrypted,
    storageTier: 'standard',
    tags,
    createVolumePermissions: new Set(),
    ...(volume.kmsKeyId ? { kmsKeyId: volume.kmsKeyId } : {}),
  };
  context.store(volume.region).snapshots.set(snapshot.snapshotId, snapshot);
  return snapshot;
}

/** Completes source snapshots; returns those not deleted meanwhile. */
export function completeSnapshots(
  context: Ec2Context,
  snapshots: readonly SnapshotRecord[],
): SnapshotRecord[] {
  const now = context.now();
  const present = snapshots.filter((s) => context.store(s.region).snapshots.get(s.snapshotId) === s);
  for (const snapshot of present) {
    snapshot.state = 'completed';
    snapshot.progress = 100;
    snapshot.completionTime = now;
  }
  return present;
}

/** Snapshots of an instance's volumes (root first), for CreateSnapshots and CreateImage. */
export function snapshotInstance(
  context: Ec2Context,
  region: string,
  instanceId: string,
  options: {
    excludeBoot?: boolean;
    description: (volumeId: string) => string;
    tags: (volume: VolumeRecord) => Map<string, string>;
  },
): { deviceName: string; snapshot: SnapshotRecord }[] {
  checkIdShape('i', instanceId);
  const store = context.store(region);
  const devices = store.instance(instanceId).devices.slice(options.excludeBoot ? 1 : 0);
  return devices.map(({ deviceName, volumeId }) => {
    const volume = store.volume(volumeId);
    return {
      deviceName,
      snapshot: snapshotVolume(context, volume, options.description(volumeId), options.tags(volume)),
    };
  });
}

/** A volume of `Size` GiB, or of its snapshot's size (the data itself is not modelled). */
const CreateVolume: ActionHandler = (context, { region, params }) => {
  const snapshotId = params.get('SnapshotId');
  if (snapshotId) checkIdShape('snap', snapshotId);
  const sizeGiB =
    params.int('Size') ?? (snapshotId ? context.store(region).snapshot(snapshotId).volumeSizeGiB : undefined);
  if (sizeGiB === undefined) throw missingParameter('Size');
  const encrypted = params.bool('Encrypted');
  const kmsKeyId = params.get('KmsKeyId');
  const volume = createVolume(context, region, {
    sizeGiB,
    availabilityZone: params.required('AvailabilityZone'),
    tags: tagsFor(tagSpecificationsOf(params, ['volume']), 'volume'),
    ...(encrypted !== undefined ? { encrypted } : {}),
    ...(kmsKeyId ? { kmsKeyId } : {}),
  });
  return volumeXml(volume, context.kms);
};

const CreateSnapshot: ActionHandler = (context, { region, params }) => {
  const volumeId = params.required('VolumeId');
  checkIdShape('vol', volumeId);
  const volume = context.store(region).volume(volumeId);
  const tags = tagsFor(tagSpecificationsOf(params, ['snapshot']), 'snapshot');
  const snapshot = snapshotVolume(context, volume, params.get('Description') ?? '', tags);
  context.lifecycle.soon(() => completeSnapshots(context, [snapshot]).map(snapshotCreated));
  return snapshotXml(snapshot, context.kms);
};

const CreateSnapshots: ActionHandler = (context, { region, params }) => {
  const specification = params.sub('InstanceSpecification');
  const specs = tagSpecificationsOf(params, ['snapshot']);
  const copyVolumeTags = params.get('CopyTagsFromSource') === 'volume';
  const requested = tagsFor(specs, 'snapshot');
  const tagsOfSnapshot = (volume: VolumeRecord) =>
    mergedTags(copyVolumeTags ? volume.tags : [], requested, `the snapshot of ${volume.volumeId}`);
  const instanceId = specification.required('InstanceId');
  checkIdShape('i', instanceId);
  // Every snapshot's tags are checked before any snapshot is made: a refused request makes none.
  const store = context.store(region);
  for (const { volumeId } of store.instance(instanceId).devices) tagsOfSnapshot(store.volume(volumeId));
  const created = snapshotInstance(context, region, instanceId, {
    excludeBoot: specification.bool('ExcludeBootVolume') ?? false,
    description: () => params.get('Description') ?? '',
    tags: tagsOfSnapshot,
  });
  const snapshots = created.map(({ snapshot }) => snapshot);
  context.lifecycle.soon(() => [multiVolumeSnapshotsCreated(completeSnapshots(context, snapshots))]);
  return itemSet('snapshotSet', snapshots.map(snapshotInfoXml));
};

/** `Owner.N` (the SDK and the CLI) or `OwnerId.N`; `self` is the caller's account. */
function ownersOf(context: Ec2Context, params: QueryParams): string[] {
  return [...params.list('Owner'), ...params.list('OwnerId')].map((owner) =>
    owner === 'self' ? context.account : owner,
  );
}

const DescribeSnapshots: ActionHandler = (context, { region, params }) => {
  const store = context.store(region);
  const ids = params.list('SnapshotId');
  for (const id of ids) {
    checkIdShape('snap', id);
    store.snapshot(id);
  }
  const owners = ownersOf(context, params);
  const filters = filtersOf(params);
  const matching = [...store.snapshots.values()].filter(
    (s) =>
      (ids.length === 0 || ids.includes(s.snapshotId)) &&
      (owners.length === 0 || owners.includes(s.ownerId)) &&
      matchesFilters(s, filters, snapshotFields),
  );
  const { page, nextToken } = paginate(matching, params);
  const items = page.map((snapshot) => snapshotXml(snapshot, context.kms));
  return `<snapshotSet>${items.map((item) => `<item>${item}</item>`).join('')}</snapshotSet>${el('nextToken', nextToken)}`;
};

function existingSnapshot(context: Ec2Context, { region, params }: ActionRequest): SnapshotRecord {
  const id = params.required('SnapshotId');
  checkIdShape('snap', id);
  return context.store(region).snapshot(id);
}

const DeleteSnapshot: ActionHandler = (context, request) => {
  const snapshot = existingSnapshot(context, request);
  const store = context.store(request.region);
  const image = store.imageUsing(snapshot.snapshotId);
  if (image) {
    throw new Ec2Error(
      'InvalidSnapshot.InUse',
      `The snapshot ${snapshot.snapshotId} is currently in use by ${image.imageId}`,
    );
  }
  // A locked snapshot cannot be deleted until its lock expires or it is unlocked (snapshot-locks.ts).
  assertDeletable(snapshot, context.now());
  store.snapshots.delete(snapshot.snapshotId);
  failCopiesOf(context, snapshot);
  return el('return', true);
};

/**
 * EC2's documentation does not say what becomes of a copy whose source is deleted while it is pending. The
 * fake chooses the outcome a DR pipeline must survive: the deletion is accepted, and each pending copy of the
 * snapshot (CopySnapshot, or one backing a CopyImage) goes to `error` at once, with the reason, so a copy
 * never completes from a source that no longer exists.
 */
export function failCopiesOf(context: Ec2Context, source: SnapshotRecord): void {
  const now = context.now();
  for (const store of context.stores()) {
    for (const copy of store.snapshots.values()) {
      const of = copy.copy;
      if (copy.state !== 'pending' || of?.sourceRegion !== source.region) continue;
      if (of.sourceSnapshotId !== source.snapshotId) continue;
      if (of.failure && of.failure.at <= now) continue;
      of.failure = {
        at: now,
        message: `The source snapshot ${source.snapshotId} was deleted before the copy completed`,
        code: 'Client.InvalidSnapshot.NotFound',
      };
    }
  }
}

const ModifySnapshotTier: ActionHandler = (context, request) => {
  const snapshot = existingSnapshot(context, request);
  const tier = request.params.get('StorageTier') ?? 'archive';
  if (tier !== 'archive') throw invalidValue('StorageTier', tier);
  if (snapshot.state !== 'completed') {
    throw new Ec2Error('IncorrectState', `Snapshot ${snapshot.snapshotId} is not in the completed state.`);
  }
  if (snapshot.storageTier === 'archive') {
    throw new Ec2Error('IncorrectState', `Snapshot ${snapshot.snapshotId} is already archived.`);
  }
  snapshot.storageTier = 'archive';
  snapshot.tieringStartTime = context.now();
  return el('snapshotId', snapshot.snapshotId) + el('tieringStartTime', isoTime(snapshot.tieringStartTime));
};

/** Share or unshare: `OperationType` + `UserId.N` / `UserGroup.N`, or `CreateVolumePermission.Add|Remove.N`. */
const ModifySnapshotAttribute: ActionHandler = (context, request) => {
  const snapshot = existingSnapshot(context, request);
  const { params } = request;
  const attribute = params.get('Attribute') ?? 'createVolumePermission';
  if (attribute !== 'createVolumePermission') throw invalidValue('Attribute', attribute);
  const permissions = params.sub('CreateVolumePermission');
  const principals = (members: QueryParams[]) => members.map((m) => m.get('UserId') ?? m.get('Group') ?? '');
  const operation = params.get('OperationType');
  const add = principals(permissions.members('Add'));
  const remove = principals(permissions.members('Remove'));
  const legacy = [...params.list('UserId'), ...params.list('UserGroup')];
  if (operation === 'add') add.push(...legacy);
  else if (operation === 'remove') remove.push(...legacy);
  if (add.length > 0 && snapshot.encrypted) {
    if (snapshot.kmsKeyId === DEFAULT_EBS_KEY) {
      throw new Ec2Error(
        'OperationNotPermitted',
        'Encrypted snapshots with EBS default key cannot be shared',
      );
    }
    if (add.includes('all'))
      throw new Ec2Error('OperationNotPermitted', 'Encrypted snapshots cannot be made public');
  }
  for (const principal of add.filter(Boolean)) snapshot.createVolumePermissions.add(principal);
  for (const principal of remove) snapshot.createVolumePermissions.delete(principal);
  return el('return', true);
};

const DescribeSnapshotAttribute: ActionHandler = (context, request) => {
  const snapshot = existingSnapshot(context, request);
  const attribute = request.params.required('Attribute');
  if (attribute !== 'createVolumePermission' && attribute !== 'productCodes')
    throw invalidValue('Attribute', attribute);
  const permissions = [...snapshot.createVolumePermissions].map((p) =>
    p === 'all' ? el('group', p) : el('userId', p),
  );
  return (
    el('snapshotId', snapshot.snapshotId) +
    (attribute === 'createVolumePermission' ? itemSet('createVolumePermission', permissions) : '')
  );
};

export const snapshotActions: Record<string, ActionHandler> = {
  CreateVolume,
  CreateSnapshot,
  CreateSnapshots,
  DescribeSnapshots,
  DeleteSnapshot,
  ModifySnapshotTier,
  ModifySnapshotAttribute,
  DescribeSnapshotAttribute,
};
