import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { classifyError } from '#foundation/errors/classify';
import { destinationKeyOf, filtersOnTags } from '#objects/router';
import { copiesTags, syncReplicaTags } from '#objects/tag-sync';
import type { ObjectRule } from '#rules/schema';
import { isOutranked } from '#rules/shared-replicas';
import { tagsMatch } from '#rules/tags';
import type { ListedObject, ObjectReconcileDeps } from './objects.ts';
import type { RuleReport } from './report.ts';

/**
 * Reconcile's tag comparison: a replica that is current (presence, markers, ETag) may still carry tags from
 * before a tag-change event that was lost. For rules with a destination that copies tags, the source's tags
 * are read (one GetObjectTagging of its current object), and each such replica's (one GetObjectTagging
 * each); a replica whose tags differ from its destination's policy of the source's is set right with
 * PutObjectTagging, the tag-change handler's own write (src/objects/tag-sync.ts). Requests: one more per
 * key and one per destination, so rules whose destinations never copy tags (`tags.copy: false`) are not
 * read at all. A source whose tags no longer pass the rule's tag filter keeps its replicas as they are.
 */
export async function reconcileReplicaTags(
  rule: ObjectRule,
  object: ListedObject,
  report: RuleReport,
  deps: ObjectReconcileDeps,
): Promise<void> {
  if (!copiesTags(rule)) return;
  const bucket = rule.objects.bucket;
  const item = `s3://${bucket}/${object.key}`;
  try {
    const read = await deps.s3({ region: deps.source.region }).send(
      new GetObjectTaggingCommand({
        Bucket: bucket,
        Key: object.key,
        ExpectedBucketOwner: deps.source.account,
        ...(rule.objects.requesterPays ? { RequestPayer: 'requester' as const } : {}),
      }),
    );
    const tags = Object.fromEntries((read.TagSet ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
    if (filtersOnTags(rule) && !tagsMatch(rule.objects.tags, tags)) return;
    const source = {
      bucket,
      key: object.key,
      region: deps.source.region,
      account: deps.source.account,
      etag: object.etag,
      ...(read.VersionId && read.VersionId !== 'null' ? { versionId: read.VersionId } : {}),
      eventTime: new Date(deps.now()).toISOString(),
    };
    const outcomes = await Promise.all(
      rule.to.flatMap((destination, destinationIndex) => {
        const destinationKey = destinationKeyOf(rule, destination, object.key);
        if (!destination.tags.copy || isOutranked(rule, destinationIndex, destination.bucket, destinationKey))
          return [];
        // The replica was just found current (markers, ETag where comparable): no second ETag test.
        return [
          syncReplicaTags(
            { rule, destination, destinationIndex, destinationKey },
            source,
            tags,
            false,
            deps,
            {
              compare: true,
            },
          ),
        ];
      }),
    );
    for (const outcome of outcomes) {
      if (outcome.status === 'tags-synced') {
        report.tagsRepaired = (report.tagsRepaired ?? 0) + 1;
        deps.metrics.tagsSynced('object', rule.name);
      } else if (outcome.status === 'failed')
        report.failed.push({
          item: `${item} → ${outcome.target}`,
          cause: `${outcome.error.cause}: ${outcome.error.message}`,
        });
    }
  } catch (error) {
    const { cause, message } = classifyError(error);
    // Deleted since it was listed: nothing to compare.
    if (cause === 'NoSuchKey') return;
    report.failed.push({ item, cause: `${cause}: ${message}` });
  }
}
