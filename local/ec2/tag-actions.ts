import type { ActionHandler, Ec2Context } from './context.ts';
import { Ec2Error, missingParameter, notFound } from './errors.ts';
import { type QueryParams, tagsOf } from './query.ts';
import { el } from './render.ts';
import { tagChanged } from './tag-events.ts';
import { mergedTags } from './tag-limits.ts';

/** The tags of a snapshot, image, volume or instance of the Region (instances keep none here). */
function tagsOfResource(context: Ec2Context, region: string, id: string): Map<string, string> {
  const store = context.store(region);
  const resource = id.startsWith('snap-')
    ? store.snapshots.get(id)
    : id.startsWith('ami-')
      ? store.images.get(id)
      : id.startsWith('vol-')
        ? store.volumes.get(id)
        : undefined;
  if (!resource) throw notFound(id);
  return resource.tags;
}

function resourcesOf(params: QueryParams): string[] {
  const resources = params.list('ResourceId');
  if (resources.length === 0) throw missingParameter('ResourceId');
  return resources;
}

/**
 * All resources are checked before any is tagged: EC2 applies a CreateTags to all of them or none. The
 * 50-tag limit counts what each resource already carries (a key it has already is overwritten, not added).
 */
const CreateTags: ActionHandler = (context, { region, params }) => {
  const targets = resourcesOf(params).map((id) => ({ id, tags: tagsOfResource(context, region, id) }));
  const tags = tagsOf(params);
  if (tags.size === 0) throw missingParameter('Tag');
  for (const target of targets) mergedTags(target.tags, tags, target.id);
  const before = targets.map((target) => new Map(target.tags));
  for (const target of targets) for (const [key, value] of tags) target.tags.set(key, value);
  emitTagChanges(context, region, targets, before);
  return el('return', true);
};

/** Each resource whose tags changed gets its "Tag Change on Resource" event, delivered asynchronously. */
function emitTagChanges(
  context: Ec2Context,
  region: string,
  targets: readonly { id: string; tags: Map<string, string> }[],
  before: readonly Map<string, string>[],
): void {
  const at = context.now();
  const events = targets.map((target, index) =>
    tagChanged({ ...target, region, account: context.account }, before[index] ?? new Map(), at),
  );
  if (events.some(Boolean)) context.lifecycle.soon(() => events);
}

/** A tag given with a value is deleted only if it has that value; without one, whatever its value. */
const DeleteTags: ActionHandler = (context, { region, params }) => {
  const targets = resourcesOf(params).map((id) => ({ id, tags: tagsOfResource(context, region, id) }));
  const tags = params.members('Tag').map((tag) => ({ key: tag.required('Key'), value: tag.get('Value') }));
  if (tags.some(({ key }) => key.toLowerCase().startsWith('aws:'))) {
    throw new Ec2Error(
      'InvalidParameterValue',
      "Tag keys starting with 'aws:' are reserved for internal use",
    );
  }
  const before = targets.map((target) => new Map(target.tags));
  for (const { tags: target } of targets) {
    if (tags.length === 0) target.clear();
    for (const { key, value } of tags)
      if (value === undefined || target.get(key) === value) target.delete(key);
  }
  emitTagChanges(context, region, targets, before);
  return el('return', true);
};

export const tagActions: Record<string, ActionHandler> = { CreateTags, DeleteTags };
