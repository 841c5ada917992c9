import { escapeXml } from '../s3-wire.ts';
import { eventTime, isoTime } from './ids.ts';
import type { KmsKeys } from './kms.ts';
import type { ImageRecord, SnapshotRecord, VolumeRecord } from './records.ts';

/**
 * The XML EC2 answers with. Element names are the `xmlName`s of the EC2 service model (what both the AWS SDK
 * and botocore read): lowercase-first, lists as `<name><item>…</item></name>`, empty lists left out.
 */
export const el = (name: string, value: string | number | boolean | undefined): string =>
  value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`;

export const struct = (name: string, inner: string): string => (inner ? `<${name}>${inner}</${name}>` : '');

export const itemSet = (name: string, items: readonly string[]): string =>
  items.length ? `<${name}>${items.map((item) => `<item>${item}</item>`).join('')}</${name}>` : '';

export const tagSet = (tags: ReadonlyMap<string, string>): string =>
  itemSet(
    'tagSet',
    [...tags].map(([key, value]) => el('key', key) + el('value', value)),
  );

const percent = (progress: number) => `${progress}%`;

/** The fields DescribeSnapshots and CreateSnapshots share; they name the state element differently. */
const snapshotHead = (snapshot: SnapshotRecord, stateElement: 'status' | 'state') => [
  el('snapshotId', snapshot.snapshotId),
  el('volumeId', snapshot.volumeId),
  el(stateElement, snapshot.state),
];
const snapshotBody = (snapshot: SnapshotRecord) => [
  el('startTime', isoTime(snapshot.startTime)),
  el('progress', percent(snapshot.progress)),
  el('ownerId', snapshot.ownerId),
  el('description', snapshot.description),
  el('volumeSize', snapshot.volumeSizeGiB),
  el('encrypted', snapshot.encrypted),
];

/** A `snapshotSet` item of DescribeSnapshots (CreateSnapshot answers the same fields at the top level). */
export function snapshotXml(snapshot: SnapshotRecord, kms: KmsKeys): string {
  return [
    ...snapshotHead(snapshot, 'status'),
    el('statusMessage', snapshot.stateMessage),
    ...snapshotBody(snapshot),
    snapshot.kmsKeyId ? el('kmsKeyId', kms.arnOf(snapshot.region, snapshot.kmsKeyId)) : '',
    el('storageTier', snapshot.storageTier),
    snapshot.completionTime !== undefined ? el('completionTime', isoTime(snapshot.completionTime)) : '',
    el(
      'transferType',
      snapshot.copy ? (snapshot.completionDurationMinutes ? 'time-based' : 'standard') : undefined,
    ),
    el('completionDurationMinutes', snapshot.completionDurationMinutes),
    tagSet(snapshot.tags),
  ].join('');
}

/** An item of CreateSnapshots' `snapshotSet` (SnapshotInfo: `state`, not `status`). */
export function snapshotInfoXml(snapshot: SnapshotRecord): string {
  return [...snapshotHead(snapshot, 'state'), ...snapshotBody(snapshot), tagSet(snapshot.tags)].join('');
}

/**
 * DescribeImages' `DeregistrationProtection` at `now` (image-protection.ts has the rules): `disabled`,
 * `enabled-with-cooldown`, `enabled-without-cooldown`, or, while the cooldown runs after disabling,
 * `disabled after <time>` (the values AWS answers, as clients such as aws-nuke read them; the API reference
 * types the field as a plain string).
 */
export function deregistrationProtectionOf(image: ImageRecord, now: number): string {
  const protection = image.deregistrationProtection;
  if (!protection) return 'disabled';
  if (protection.enabled)
    return protection.withCooldown ? 'enabled-with-cooldown' : 'enabled-without-cooldown';
  return protection.until > now ? `disabled after ${eventTime(protection.until)}` : 'disabled';
}

/** An `imagesSet` item of DescribeImages, at `now` (deregistration protection's cooldown runs on the clock). */
export function imageXml(image: ImageRecord, now: number): string {
  const devices = image.blockDevices.map(
    (device) =>
      el('deviceName', device.deviceName) +
      struct(
        'ebs',
        el('snapshotId', device.snapshotId) +
          el('volumeSize', device.volumeSizeGiB) +
          el('deleteOnTermination', device.deleteOnTermination) +
          el('volumeType', device.volumeType) +
          el('encrypted', device.encrypted),
      ),
  );
  return [
    el('imageId', image.imageId),
    el('imageLocation', `${image.ownerId}/${image.name}`),
    el('imageState', image.state),
    el('imageOwnerId', image.ownerId),
    el('creationDate', isoTime(image.creationDate)),
    el('isPublic', false),
    el('architecture', image.architecture),
    el('imageType', 'machine'),
    el('name', image.name),
    el('description', image.description),
    el('rootDeviceType', 'ebs'),
    el('rootDeviceName', image.rootDeviceName),
    itemSet('blockDeviceMapping', devices),
    el('virtualizationType', image.virtualizationType),
    el('hypervisor', 'xen'),
    el('enaSupport', image.enaSupport),
    el('platformDetails', 'Linux/UNIX'),
    el('usageOperation', 'RunInstances'),
    image.stateReason
      ? struct('stateReason', el('code', image.stateReason.code) + el('message', image.stateReason.message))
      : '',
    el('sourceInstanceId', image.sourceInstanceId),
    el('sourceImageId', image.copy?.sourceImageId),
    el('sourceImageRegion', image.copy?.sourceRegion),
    // `YYYY-MM-DDTHH:MM:SSZ`, as DescribeImages documents DeprecationTime.
    image.deprecationTime !== undefined ? el('deprecationTime', eventTime(image.deprecationTime)) : '',
    el('deregistrationProtection', deregistrationProtectionOf(image, now)),
    tagSet(image.tags),
  ].join('');
}

export function volumeXml(volume: VolumeRecord, kms: KmsKeys): string {
  return [
    el('volumeId', volume.volumeId),
    el('size', volume.sizeGiB),
    el('availabilityZone', volume.availabilityZone),
    el('status', 'available'),
    el('createTime', isoTime(volume.createTime)),
    el('volumeType', 'gp3'),
    el('encrypted', volume.encrypted),
    volume.kmsKeyId ? el('kmsKeyId', kms.arnOf(volume.region, volume.kmsKeyId)) : '',
    tagSet(volume.tags),
  ].join('');
}
