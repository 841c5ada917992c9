import type { ActionHandler } from './context.ts';
import { checkIdShape, Ec2Error } from './errors.ts';
import { imageCopyLimit } from './faults.ts';
import { checkImageName, newImage } from './image-actions.ts';
import { tagSpecificationsOf, tagsFor } from './query.ts';
import { el } from './render.ts';
import { encryptionOf, startSnapshotCopy } from './snapshot-copy.ts';
import { mergedTags } from './tag-limits.ts';

/**
 * Runs in the destination Region (the request's): copies each backing snapshot (pending → completed on the
 * virtual clock) and registers a `pending` image that becomes `available` once they all completed, or
 * `failed` with the first that failed. `ClientToken` makes it idempotent: the same token and request give the
 * same image; the same token with another request is refused. `CopyImageTags` copies the image's user tags
 * (not its snapshots' tags); launch permissions are not copied.
 */
const CopyImage: ActionHandler = (context, { region, params, requestId, failCopy }) => {
  const sourceRegion = params.required('SourceRegion');
  const sourceImageId = params.required('SourceImageId');
  checkIdShape('ami', sourceImageId);
  const name = params.required('Name');
  const encryption = encryptionOf(params);
  const store = context.store(region);
  const token = params.get('ClientToken');
  const fingerprint = params.fingerprint('ClientToken', 'DryRun');
  const earlier = token ? store.imageTokens.get(token) : undefined;
  if (earlier) {
    if (earlier.fingerprint !== fingerprint) {
      throw new Ec2Error(
        'IdempotentParameterMismatch',
        'The request uses the same client token as a previous, but non-identical request.',
      );
    }
    return el('imageId', earlier.imageId);
  }
  const sourceStore = context.store(sourceRegion);
  const source = sourceStore.image(sourceImageId);
  if (source.state !== 'available') {
    throw new Ec2Error(
      'IncorrectState',
      `Image ${sourceImageId} is not in the available state and cannot be copied.`,
    );
  }
  checkImageName(context, region, name);
  if (store.runningImageCopies >= context.limits.imageCopies)
    throw imageCopyLimit(context.limits.imageCopies);

  const specs = tagSpecificationsOf(params, ['image', 'snapshot']);
  // Checked before anything starts: the copied tags and the requested ones must fit together.
  const imageTags = mergedTags(
    params.bool('CopyImageTags') ? source.tags : [],
    tagsFor(specs, 'image'),
    'the image copy',
  );
  const snapshotTags = tagsFor(specs, 'snapshot');
  const imageId = context.ids.next('ami');
  const blockDevices = source.blockDevices.map((device, index) => {
    const copy = startSnapshotCopy(context, region, sourceStore.snapshot(device.snapshotId), {
      description: `Copied for DestinationAmi ${imageId} from SourceAmi ${sourceImageId} for SourceSnapshot ${device.snapshotId}`,
      tags: new Map(snapshotTags),
      imageId,
      fail: failCopy && index === 0,
      ...encryption,
    });
    return { ...device, snapshotId: copy.snapshotId, encrypted: copy.encrypted };
  });
  const description = params.get('Description') ?? source.description;
  newImage(context, {
    imageId,
    region,
    name,
    requestId,
    blockDevices,
    tags: imageTags,
    architecture: source.architecture,
    rootDeviceName: source.rootDeviceName,
    virtualizationType: source.virtualizationType,
    enaSupport: source.enaSupport,
    copy: { sourceRegion, sourceImageId },
    ...(description ? { description } : {}),
  });
  if (token) store.imageTokens.set(token, { imageId, fingerprint });
  return el('imageId', imageId);
};

export const imageCopyActions: Record<string, ActionHandler> = { CopyImage };
