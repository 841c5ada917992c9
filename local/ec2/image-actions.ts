import type { ActionHandler, Ec2Context } from './context.ts';
import { checkIdShape, Ec2Error, invalidValue, missingParameter } from './errors.ts';
import { imageStateChanged, snapshotCreated } from './events.ts';
import { imageFields, matchesFilters, paginate } from './filters.ts';
import { assertDeregistrable, describable } from './image-protection.ts';
import { filtersOf, type QueryParams, tagSpecificationsOf, tagsFor } from './query.ts';
import type { BlockDevice, ImageRecord } from './records.ts';
import { el, imageXml, itemSet } from './render.ts';
import { completeSnapshots, snapshotInstance } from './snapshot-actions.ts';
import { isDeletable } from './snapshot-locks.ts';

/** AMI names are unique per account and Region. */
export function checkImageName(context: Ec2Context, region: string, name: string): void {
  const taken = [...context.store(region).images.values()].find((image) => image.name === name);
  if (taken)
    throw new Ec2Error(
      'InvalidAMIName.Duplicate',
      `AMI name ${name} is already in use by AMI ${taken.imageId}`,
    );
}

export function newImage(
  context: Ec2Context,
  fields: Pick<ImageRecord, 'imageId' | 'region' | 'name' | 'blockDevices' | 'tags' | 'requestId'> &
    Partial<ImageRecord>,
): ImageRecord {
  const image: ImageRecord = {
    ownerId: context.account,
    state: 'pending',
    creationDate: context.now(),
    architecture: 'x86_64',
    rootDeviceName: fields.blockDevices[0]?.deviceName ?? '/dev/xvda',
    virtualizationType: 'hvm',
    enaSupport: true,
    ...fields,
  };
  context.store(image.region).images.set(image.imageId, image);
  return image;
}

/** A source image becomes available on the next turn of the event loop (unless deregistered meanwhile). */
function makeAvailableSoon(
  context: Ec2Context,
  image: ImageRecord,
  before: () => ReturnType<typeof snapshotCreated>[] = () => [],
) {
  context.lifecycle.soon(() => {
    const events = before();
    if (context.store(image.region).images.get(image.imageId) !== image) return events;
    image.state = 'available';
    return [...events, imageStateChanged(image, 'available', context.now())];
  });
}

const CreateImage: ActionHandler = (context, { region, params, requestId }) => {
  const instanceId = params.required('InstanceId');
  const name = params.required('Name');
  checkImageName(context, region, name);
  const specs = tagSpecificationsOf(params, ['image', 'snapshot']);
  // Both are checked against the tag limit before anything is made.
  const imageTags = tagsFor(specs, 'image');
  const snapshotTags = tagsFor(specs, 'snapshot');
  const imageId = context.ids.next('ami');
  const created = snapshotInstance(context, region, instanceId, {
    description: () => `Created by CreateImage(${instanceId}) for ${imageId}`,
    tags: () => new Map(snapshotTags),
  });
  const image = newImage(context, {
    imageId,
    region,
    name,
    requestId,
    sourceInstanceId: instanceId,
    tags: imageTags,
    blockDevices: created.map(({ deviceName, snapshot }) => ({
      deviceName,
      snapshotId: snapshot.snapshotId,
      volumeSizeGiB: snapshot.volumeSizeGiB,
      volumeType: 'gp3',
      deleteOnTermination: true,
      encrypted: snapshot.encrypted,
    })),
    ...(params.get('Description') ? { description: params.get('Description') } : {}),
  });
  // EBS reports the image's snapshots as created snapshots too.
  const snapshots = created.map(({ snapshot }) => snapshot);
  makeAvailableSoon(context, image, () => completeSnapshots(context, snapshots).map(snapshotCreated));
  return el('imageId', image.imageId);
};

const RegisterImage: ActionHandler = (context, { region, params, requestId }) => {
  const name = params.required('Name');
  checkImageName(context, region, name);
  const store = context.store(region);
  const tags = tagsFor(tagSpecificationsOf(params, ['image']), 'image');
  const blockDevices: BlockDevice[] = params.members('BlockDeviceMapping').flatMap((mapping) => {
    const ebs = mapping.sub('Ebs');
    const snapshotId = ebs.get('SnapshotId');
    if (!snapshotId) return [];
    checkIdShape('snap', snapshotId);
    const snapshot = store.snapshot(snapshotId);
    return [
      {
        deviceName: mapping.required('DeviceName'),
        snapshotId,
        volumeSizeGiB: ebs.int('VolumeSize') ?? snapshot.volumeSizeGiB,
        volumeType: ebs.get('VolumeType') ?? 'gp3',
        deleteOnTermination: ebs.bool('DeleteOnTermination') ?? true,
        encrypted: snapshot.encrypted,
      },
    ];
  });
  if (blockDevices.length === 0) throw missingParameter('BlockDeviceMapping.1.Ebs.SnapshotId');
  const optional = (field: string) => params.get(field);
  const image = newImage(context, {
    imageId: context.ids.next('ami'),
    region,
    name,
    requestId,
    blockDevices,
    tags,
    rootDeviceName: optional('RootDeviceName') ?? blockDevices[0]?.deviceName ?? '/dev/xvda',
    enaSupport: params.bool('EnaSupport') ?? true,
    ...(optional('Architecture') ? { architecture: optional('Architecture') } : {}),
    ...(optional('VirtualizationType') ? { virtualizationType: optional('VirtualizationType') } : {}),
    ...(optional('Description') ? { description: optional('Description') } : {}),
    registeredAt: context.now() + context.registrationMs,
  });
  // Pending for its registration time: tags added meanwhile are on the image when it becomes available.
  if (image.registeredAt !== undefined) context.lifecycle.registerUntil(image.registeredAt);
  return el('imageId', image.imageId);
};

const DescribeImages: ActionHandler = (context, { region, params }) => {
  const store = context.store(region);
  const ids = params.list('ImageId');
  for (const id of ids) {
    checkIdShape('ami', id);
    store.image(id);
  }
  const owners = params.list('Owner').map((owner) => (owner === 'self' ? context.account : owner));
  const filters = filtersOf(params);
  const now = context.now();
  const visibility = {
    caller: context.account,
    byId: ids.length > 0,
    includeDeprecated: params.bool('IncludeDeprecated') ?? false,
    now,
  };
  const matching = [...store.images.values()].filter(
    (image) =>
      (ids.length === 0 || ids.includes(image.imageId)) &&
      (owners.length === 0 || owners.includes(image.ownerId)) &&
      describable(image, visibility) &&
      matchesFilters(image, filters, imageFields),
  );
  const { page, nextToken } = paginate(matching, params);
  return `<imagesSet>${page.map((image) => `<item>${imageXml(image, now)}</item>`).join('')}</imagesSet>${el('nextToken', nextToken)}`;
};

/**
 * Deregistering keeps the image's snapshots (they cost storage until deleted) unless
 * `DeleteAssociatedSnapshots` asks for them to go too.
 */
const DeregisterImage: ActionHandler = (context, { region, params }) => {
  const imageId = params.required('ImageId');
  checkIdShape('ami', imageId);
  const store = context.store(region);
  const image = store.image(imageId);
  const now = context.now();
  assertDeregistrable(image, now);
  store.images.delete(imageId);
  const deleted: string[] = [];
  if (params.bool('DeleteAssociatedSnapshots')) {
    for (const { snapshotId } of image.blockDevices) {
      const usedElsewhere = store.imageUsing(snapshotId) !== undefined;
      // A locked snapshot stays (a client error, as for one that another AMI uses).
      const snapshot = store.snapshots.get(snapshotId);
      const locked = snapshot !== undefined && !isDeletable(snapshot, now);
      if (!usedElsewhere && !locked && store.snapshots.delete(snapshotId)) {
        deleted.push(el('snapshotId', snapshotId) + el('returnCode', 'success'));
      } else {
        deleted.push(
          el('snapshotId', snapshotId) +
            el('returnCode', usedElsewhere || locked ? 'client-error' : 'skipped'),
        );
      }
    }
  }
  context.lifecycle.soon(() => [imageStateChanged(image, 'deregistered', context.now())]);
  return el('return', true) + itemSet('deleteSnapshotResultSet', deleted);
};

/**
 * Sharing an AMI (or unsharing it): its launch permission, in both of the API's forms
 * (`LaunchPermission.Add.N.UserId` / `.Group`, or `OperationType` with `UserId.N` / `UserGroup.N`), as the
 * EC2 API reference gives ModifyImageAttribute
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyImageAttribute.html).
 */
const ModifyImageAttribute: ActionHandler = (context, { region, params }) => {
  const imageId = params.required('ImageId');
  checkIdShape('ami', imageId);
  const image = context.store(region).image(imageId);
  const attribute = params.get('Attribute') ?? 'launchPermission';
  if (attribute !== 'launchPermission') throw invalidValue('Attribute', attribute);
  const permission = params.sub('LaunchPermission');
  const principals = (members: QueryParams[]) =>
    members.map((member) => member.get('UserId') ?? member.get('Group') ?? '').filter(Boolean);
  const add = principals(permission.members('Add'));
  const remove = principals(permission.members('Remove'));
  const legacy = [...params.list('UserId'), ...params.list('UserGroup')];
  const operation = params.get('OperationType');
  if (operation === 'add') add.push(...legacy);
  else if (operation === 'remove') remove.push(...legacy);
  if (add.length === 0 && remove.length === 0) throw missingParameter('LaunchPermission');
  const permissions = image.launchPermissions ?? new Set<string>();
  for (const principal of add) permissions.add(principal);
  for (const principal of remove) permissions.delete(principal);
  image.launchPermissions = permissions;
  return el('return', true);
};

export const imageActions: Record<string, ActionHandler> = {
  CreateImage,
  RegisterImage,
  DescribeImages,
  DeregisterImage,
  ModifyImageAttribute,
};
