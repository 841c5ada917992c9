import { versionHeader } from './attributes.ts';
import { type S3Context, type S3Request, sendEmpty } from './context.ts';
import { checkTags } from './limits.ts';
import { eventVersionId, objectOf } from './objects.ts';
import { element, malformedXml, readBody, sendXml, unescapeXml, xmlElements } from './wire.ts';

/**
 * GetObjectTagging, PutObjectTagging, DeleteObjectTagging, of the current version or of `versionId`
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html). A tag set replaces the one
 * there was, whole; it is checked against S3's tag limits (limits.ts). Tagging changes no version. Each
 * change emits its EventBridge event, "Object Tags Added" or "Object Tags Deleted" (s3-events.ts).
 */

export function getObjectTagging(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const object = objectOf(context, bucket, request.key, request.query.get('versionId'));
  sendXml(
    request.res,
    `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>${object.tags
      .map(([key, value]) => `<Tag>${element('Key', key)}${element('Value', value)}</Tag>`)
      .join('')}</TagSet></Tagging>`,
    versionHeader(bucket, object.versionId),
  );
}

export async function putObjectTagging(context: S3Context, request: S3Request): Promise<void> {
  const bucket = context.store.bucket(request.bucket);
  const body = (await readBody(request.body)).toString('utf8');
  if (!body.includes('<Tagging') || !body.includes('<TagSet')) throw malformedXml();
  const tags = xmlElements(body, 'Tag').map((tag): [string, string] => [
    unescapeXml(xmlElements(tag, 'Key')[0] ?? ''),
    unescapeXml(xmlElements(tag, 'Value')[0] ?? ''),
  ]);
  checkTags(tags);
  const object = objectOf(context, bucket, request.key, request.query.get('versionId'));
  object.tags = tags;
  context.events.emitTagging('Object Tags Added', bucket.name, request.key, {
    etag: object.etag,
    versionId: eventVersionId(bucket, object.versionId),
  });
  sendEmpty(request, 200, versionHeader(bucket, object.versionId));
}

export function deleteObjectTagging(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const object = objectOf(context, bucket, request.key, request.query.get('versionId'));
  object.tags = [];
  context.events.emitTagging('Object Tags Deleted', bucket.name, request.key, {
    etag: object.etag,
    versionId: eventVersionId(bucket, object.versionId),
  });
  sendEmpty(request, 204, versionHeader(bucket, object.versionId));
}
