import { InventoryOptionalField } from '@aws-sdk/client-s3';
import { type S3Context, type S3Request, sendEmpty } from './context.ts';
import type { Bucket } from './store.ts';
import {
  element,
  invalidArgument,
  malformedXml,
  readBody,
  s3Error,
  sendXml,
  xmlElements,
  xmlValue,
} from './wire.ts';

/**
 * A bucket's S3 Inventory configurations: PutBucketInventoryConfiguration, GetBucketInventoryConfiguration,
 * ListBucketInventoryConfigurations, DeleteBucketInventoryConfiguration
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketInventoryConfiguration.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_InventoryConfiguration.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_InventoryS3BucketDestination.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBucketInventoryConfigurations.html).
 * - up to 1,000 configurations per bucket (one more is 400 TooManyConfigurations);
 * - a body that does not validate against the schema (a required element missing, a value outside its
 *   enumeration: Format CSV|ORC|Parquet, IncludedObjectVersions All|Current, Frequency Daily|Weekly, an
 *   unknown optional field) is 400 MalformedXML;
 * - the `id` of the query is required and must be the body's `Id`, the destination bucket an S3 ARN: 400
 *   InvalidArgument otherwise;
 * - an id the bucket has no configuration for is 404 NoSuchConfiguration (Get and Delete,
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html);
 * - a listing returns at most 100 configurations, with IsTruncated and NextContinuationToken.
 * The reports the sandbox publishes follow the stored configuration (local/s3/inventory.ts).
 */

export const MAX_INVENTORY_CONFIGURATIONS = 1000;
const PAGE = 100;

export interface StoredInventoryConfiguration {
  id: string;
  isEnabled: boolean;
  destination: {
    /** `arn:aws:s3:::NAME`. */
    bucketArn: string;
    format: 'CSV' | 'ORC' | 'Parquet';
    prefix?: string;
    accountId?: string;
    /** The `<Encryption>` element as given (SSE-S3 or SSE-KMS with its key), answered back unchanged. */
    encryptionXml?: string;
  };
  filterPrefix?: string;
  includedObjectVersions: 'All' | 'Current';
  optionalFields: string[];
  frequency: 'Daily' | 'Weekly';
}

const FORMATS = ['CSV', 'ORC', 'Parquet'] as const;
const VERSIONS = ['All', 'Current'] as const;
const FREQUENCIES = ['Daily', 'Weekly'] as const;
const OPTIONAL_FIELDS: readonly string[] = Object.values(InventoryOptionalField);
const ID = /^[\w.-]{1,64}$/;
const BUCKET_ARN = /^arn:aws[\w-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const NAMESPACE = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

const noSuchConfiguration = () =>
  s3Error(404, 'NoSuchConfiguration', 'The specified configuration does not exist.');

const oneOf = <const Values extends readonly string[]>(
  values: Values,
  value: string | undefined,
): Values[number] => {
  if (value === undefined || !values.includes(value)) throw malformedXml();
  return value as Values[number];
};

/** The first `<name>` block of `xml`, raw (not unescaped): the container of nested elements. */
const block = (xml: string, name: string): string | undefined => xmlElements(xml, name)[0];

/** Parses and checks a PutBucketInventoryConfiguration body for the configuration `id`. */
export function parseInventoryConfiguration(body: string, id: string | null): StoredInventoryConfiguration {
  const root = block(body, 'InventoryConfiguration');
  if (root === undefined) throw malformedXml();
  const destination = block(root, 'Destination');
  const s3 = destination === undefined ? undefined : block(destination, 'S3BucketDestination');
  const schedule = block(root, 'Schedule');
  const bodyId = xmlValue(root, 'Id');
  if (s3 === undefined || schedule === undefined || bodyId === undefined) throw malformedXml();
  const isEnabled = oneOf(['true', 'false'], xmlValue(root, 'IsEnabled'));
  const bucketArn = xmlValue(s3, 'Bucket');
  if (bucketArn === undefined) throw malformedXml();
  const format = oneOf(FORMATS, xmlValue(s3, 'Format'));
  const includedObjectVersions = oneOf(VERSIONS, xmlValue(root, 'IncludedObjectVersions'));
  const frequency = oneOf(FREQUENCIES, xmlValue(schedule, 'Frequency'));
  const fieldsBlock = block(root, 'OptionalFields');
  const optionalFields =
    fieldsBlock === undefined ? [] : xmlElements(fieldsBlock, 'Field').map((f) => f.trim());
  for (const field of optionalFields) oneOf(OPTIONAL_FIELDS, field);
  if (id === null || id === '') throw invalidArgument('Missing required parameter id', 'id', '');
  if (!ID.test(id)) throw invalidArgument('The configuration id is not valid', 'id', id);
  if (bodyId !== id) throw invalidArgument('Configuration ID mismatch', 'id', id);
  if (!BUCKET_ARN.test(bucketArn))
    throw invalidArgument(
      'Invalid destination bucket ARN',
      'Destination.S3BucketDestination.Bucket',
      bucketArn,
    );
  const filter = block(root, 'Filter');
  const filterPrefix = filter === undefined ? undefined : xmlValue(filter, 'Prefix');
  const prefix = xmlValue(s3, 'Prefix');
  const accountId = xmlValue(s3, 'AccountId');
  const encryptionXml = block(s3, 'Encryption');
  return {
    id,
    isEnabled: isEnabled === 'true',
    destination: {
      bucketArn,
      format,
      ...(prefix !== undefined ? { prefix } : {}),
      ...(accountId !== undefined ? { accountId } : {}),
      ...(encryptionXml !== undefined ? { encryptionXml } : {}),
    },
    ...(filterPrefix !== undefined ? { filterPrefix } : {}),
    includedObjectVersions,
    optionalFields,
    frequency,
  };
}

function configurationXml(configuration: StoredInventoryConfiguration): string {
  const { destination } = configuration;
  return (
    element('Id', configuration.id) +
    element('IsEnabled', configuration.isEnabled) +
    (configuration.filterPrefix !== undefined
      ? `<Filter>${element('Prefix', configuration.filterPrefix)}</Filter>`
      : '') +
    '<Destination><S3BucketDestination>' +
    element('AccountId', destination.accountId) +
    element('Bucket', destination.bucketArn) +
    element('Format', destination.format) +
    element('Prefix', destination.prefix) +
    (destination.encryptionXml !== undefined ? `<Encryption>${destination.encryptionXml}</Encryption>` : '') +
    '</S3BucketDestination></Destination>' +
    element('IncludedObjectVersions', configuration.includedObjectVersions) +
    (configuration.optionalFields.length > 0
      ? `<OptionalFields>${configuration.optionalFields.map((field) => element('Field', field)).join('')}</OptionalFields>`
      : '') +
    `<Schedule>${element('Frequency', configuration.frequency)}</Schedule>`
  );
}

const configurationsOf = (bucket: Bucket) => {
  bucket.inventoryConfigurations ??= new Map();
  return bucket.inventoryConfigurations;
};

export async function putBucketInventoryConfiguration(context: S3Context, request: S3Request): Promise<void> {
  const bucket = context.store.bucket(request.bucket);
  const body = (await readBody(request.body)).toString('utf8');
  const configuration = parseInventoryConfiguration(body, request.query.get('id'));
  const configurations = configurationsOf(bucket);
  if (!configurations.has(configuration.id) && configurations.size >= MAX_INVENTORY_CONFIGURATIONS)
    throw s3Error(
      400,
      'TooManyConfigurations',
      `You are attempting to create a new configuration but have already reached the ${MAX_INVENTORY_CONFIGURATIONS}-configuration limit.`,
    );
  configurations.set(configuration.id, configuration);
  sendEmpty(request, 200);
}

export function getBucketInventoryConfiguration(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const id = request.query.get('id') ?? '';
  const configuration = bucket.inventoryConfigurations?.get(id);
  if (!configuration) throw noSuchConfiguration();
  sendXml(
    request.res,
    `<InventoryConfiguration ${NAMESPACE}>${configurationXml(configuration)}</InventoryConfiguration>`,
  );
}

export function deleteBucketInventoryConfiguration(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const id = request.query.get('id') ?? '';
  if (!bucket.inventoryConfigurations?.delete(id)) throw noSuchConfiguration();
  sendEmpty(request, 204);
}

/** Ids in order; the continuation token is the last id of the page before (opaque to clients). */
export function listBucketInventoryConfigurations(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const token = request.query.get('continuation-token');
  const all = [...(bucket.inventoryConfigurations?.values() ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1));
  const after = token ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
  const rest = after === undefined ? all : all.filter((configuration) => configuration.id > after);
  const page = rest.slice(0, PAGE);
  const truncated = rest.length > page.length;
  const last = page.at(-1);
  sendXml(
    request.res,
    `<ListInventoryConfigurationsResult ${NAMESPACE}>` +
      element('ContinuationToken', token ?? undefined) +
      page.map((c) => `<InventoryConfiguration>${configurationXml(c)}</InventoryConfiguration>`).join('') +
      element('IsTruncated', truncated) +
      (truncated && last
        ? element('NextContinuationToken', Buffer.from(last.id).toString('base64url'))
        : '') +
      '</ListInventoryConfigurationsResult>',
  );
}
