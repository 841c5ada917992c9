import type { FunctionName } from '../iam/types.ts';
import type { ProofReport } from './evaluate.ts';

/**
 * Surplus the IAM proof accepts: actions the generated policies grant that no recorded call of the proof's
 * runs needed, each with why it stays and a test that takes the path needing it (named
 * `file > test name`, checked to exist by test/unit/deploy/iam-proof/justified.test.ts). Anything else
 * the proof reports as surplus fails test/integration/iam-proof.test.ts: remove the grant, or justify it
 * here.
 */
export const DESTINATION_ROLE = 'destination role' as const;
export const EVERY_FUNCTION = 'every function' as const;

export interface Justification {
  /** A function, `every function`, or `destination role` for deploy/cross-account-role.yml. */
  principal: FunctionName | typeof EVERY_FUNCTION | typeof DESTINATION_ROLE;
  action: string;
  reason: string;
  /** `test/…/file.test.ts > the test's name`: a test that takes the path the action is for. */
  test: string;
}

const LAMBDA_LOGS =
  'Lambda writes the function’s logs to its own log group with the execution role (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html#monitoring-cloudwatchlogs-prereqs); Ferry’s code makes no Logs call, so no recorded call needs it';
const PACKAGE_ROLES =
  'test/integration/package.test.ts > gives each function its own role with exactly the statements generated for it';
const VERSIONED =
  'A versioned source: the event’s version id makes the HEAD, the tag read and the copy read that version, which IAM authorizes as s3:GetObjectVersion(Tagging) (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax); of the proof’s configurations only test/configs/object-lock.yml has a versioned source, and its run reaches these reads only from the object functions (its objects carry no tags; reconcile copies nothing there)';
const VERSIONED_TEST =
  'test/integration/object-replication.test.ts > It should not bring back a deleted version when its copy event comes after the delete (versioned)';
const MISSING_KEY_404 =
  'A HEAD of a replica that does not exist answers 404 only with s3:ListBucket on the bucket, 403 without (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html#API_HeadObject_ResponseSyntax); Ferry tells “no replica yet” from “refused” by it. The HEAD itself is authorized as s3:GetObject';
const TAKEN_NAME =
  'Only when the execution’s name is taken: the next attempt asks whether the earlier one failed for good (src/adapters/execution-attempts.ts); the proof’s runs start each copy once';
const SAME_EVENT_TWICE =
  'test/integration/object-copy.test.ts > It should copy once when the same event arrives twice';
const MULTIPART_CLEANUP =
  'A multipart copy that fails for good, or finds the upload of a crashed attempt on its replica key, aborts it (src/objects): a failure path';
const ONE_TEMPLATE =
  'deploy/cross-account-role.yml is one template for snapshot and AMI copies (AllowEc2Copies): a role deployed for one kind also grants the other kind’s actions, on that account’s resources only';

const SETTLED_BEFORE_WAIT =
  'Only when the copy settled before AwaitCopy stored its token (its completion event found no waiter): the await step then ends its own wait and removes the waiter (src/ec2/copy-machine/await-step.ts); in the proof’s runs every copy outlasts the step';
const SETTLED_BEFORE_WAIT_TEST =
  'test/unit/handlers/ec2-copy-completed.test.ts > signals itself when the copy ended before the token was stored (the event found no waiter)';

export const JUSTIFIED: readonly Justification[] = [
  ...(['dynamodb:DeleteItem', 'states:SendTaskSuccess'] as const).map(
    (action): Justification => ({
      principal: 'ec2CopyStep',
      action,
      reason: SETTLED_BEFORE_WAIT,
      test: SETTLED_BEFORE_WAIT_TEST,
    }),
  ),
  { principal: EVERY_FUNCTION, action: 'logs:CreateLogStream', reason: LAMBDA_LOGS, test: PACKAGE_ROLES },
  { principal: EVERY_FUNCTION, action: 'logs:PutLogEvents', reason: LAMBDA_LOGS, test: PACKAGE_ROLES },
  {
    principal: EVERY_FUNCTION,
    action: 'sqs:SendMessage',
    reason:
      'A failed asynchronous invocation (after Lambda’s retries) goes to the dead-letter queue through the on-failure destination, which Lambda sends with the function’s execution role (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-async-destinations): a failure path, and a call of Lambda’s, not of Ferry’s code',
    test: 'test/integration/object-replication.test.ts > It should send a malformed event to the dead letters after retries, naming the field',
  },
  // test/configs/object-lock.yml's run has a versioned source (Object Lock needs versioning): there the
  // object functions read versions, and HEAD replicas not written yet (s3:ListBucket).
  ...(['objectCopyStep', 'reconcile', DESTINATION_ROLE] as const).flatMap((principal) =>
    ['s3:GetObjectVersion', 's3:GetObjectVersionTagging']
      // objectCopyStep reads versions; reconcile reads a versioned source's tags to compare its replicas'.
      .filter((action) => !(principal === 'objectCopyStep' && action === 's3:GetObjectVersion'))
      .filter((action) => !(principal === 'reconcile' && action === 's3:GetObjectVersionTagging'))
      .map(
        (action): Justification => ({
          principal,
          action,
          reason: VERSIONED,
          test: VERSIONED_TEST,
        }),
      ),
  ),
  {
    principal: 'objectDeleted',
    action: 's3:ListBucket',
    reason: `${MISSING_KEY_404}: the check before a delete HEADs a replica that may be gone already`,
    test: "test/integration/object-replication.test.ts > It should keep a replica that a newer copy rewrote between the delete's read and its DeleteObject",
  },
  {
    principal: DESTINATION_ROLE,
    action: 's3:ListBucket',
    reason: `${MISSING_KEY_404}: the role does the replica's HEADs in its account`,
    test: VERSIONED_TEST,
  },
  ...(['objectCreated', 'snapshotCreated', 'imageAvailable', 'reconcile'] as const).map(
    (principal): Justification => ({
      principal,
      action: 'states:DescribeExecution',
      reason: TAKEN_NAME,
      test:
        principal === 'objectCreated'
          ? SAME_EVENT_TWICE
          : principal === 'reconcile'
            ? 'test/integration/reconcile.test.ts > gives a copy whose execution failed for good a second attempt, under a new name, which completes'
            : principal === 'snapshotCreated'
              ? 'test/integration/snapshot-copy.test.ts > copies once when the same event arrives twice'
              : 'test/integration/image-copy.test.ts > copies once when the same event arrives twice',
    }),
  ),
  {
    principal: 'objectCopyStep',
    action: 's3:AbortMultipartUpload',
    reason: MULTIPART_CLEANUP,
    test: 'test/integration/object-copy.test.ts > It should abort the upload when part copies fail for good: no orphan, no replica',
  },
  {
    principal: 'objectCopyStep',
    action: 's3:ListMultipartUploadParts',
    reason:
      'The completion takes the parts from what the Map carried; it lists them only when a batch result lacks its parts, or for an upload of more than 1,000 parts (whose results would pass the 256 KiB payload); the proof’s copies lose no result and have fewer parts',
    test: 'test/unit/handlers/object-copy-step.test.ts > It should list the parts when a batch result lacks them',
  },
  ...['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:ListBucketMultipartUploads'].map(
    (action) => ({
      principal: DESTINATION_ROLE,
      action,
      reason: `${MULTIPART_CLEANUP}; with a destination role the role does it, and the proof's cross-account object is below the multipart threshold`,
      test: 'test/integration/object-copy.test.ts > It should abort the upload a crashed prepare step created, and copy with a new one',
    }),
  ),
  ...[
    's3:PutObject',
    's3:PutObjectTagging',
    'states:StartExecution',
    // A replica reconcile writes to a destination with `lock` is locked as the handlers lock theirs.
    's3:PutObjectRetention',
    's3:PutObjectLegalHold',
    's3:GetBucketObjectLockConfiguration',
  ].map(
    (action): Justification => ({
      principal: 'reconcile' as const,
      action,
      reason:
        'A pass copies only what is missing (an event lost): small objects inline (PutObject, tags on write), large ones through the object-copy machine; the proof’s runs lose no event',
      test: 'test/integration/reconcile.test.ts > finds objects whose events were lost, replicates them through replicateObject, then finds nothing',
    }),
  ),
  {
    principal: 'reconcile',
    action: 's3:DeleteObject',
    reason:
      'A pass deletes a replica whose source is gone when the delete event was lost, where deletes are replicated',
    test: 'test/integration/reconcile.test.ts > deletes the replica whose delete event was lost where deletes are replicated, and nothing else',
  },
  {
    principal: 'reconcile',
    action: 's3:PutObjectVersionTagging',
    reason:
      'A pass repairs the tags of a replica whose tag-change event was lost, on the replica’s own version in a versioned destination (PutObjectTagging with VersionId); the proof’s runs lose no tag event',
    test: 'test/integration/tag-follow.test.ts > It should repair a lost tag change on the replica’s own version in a versioned destination',
  },
  {
    principal: DESTINATION_ROLE,
    action: 's3:PutObjectVersionTagging',
    reason:
      'In the role’s account, a replica in a versioned bucket follows its source’s tag change on its own version (src/objects/tag-sync.ts, PutObjectTagging with VersionId); the proof’s cross-account bucket is unversioned and its runs change no tags',
    test: 'test/integration/tag-follow.test.ts > It should tag the replica of the current version only: a tag change on an older version changes no replica',
  },
  {
    principal: DESTINATION_ROLE,
    action: 'ec2:DeleteTags',
    reason: `A copy in the role's account loses a tag its source lost (src/ec2/tag-follow/follow.ts), only a copy with Ferry's marker; the proof's vault run removes no source tag. ${ONE_TEMPLATE}`,
    test: 'test/integration/tag-follow.test.ts > It should bring the copy’s tags to the policy: CreateTags for added or changed, DeleteTags for removed, never Ferry’s markers or the rule’s tags',
  },
  ...['ec2:DeleteSnapshot', 'ec2:DeregisterImage'].map(
    (action): Justification => ({
      principal: DESTINATION_ROLE,
      action,
      reason: `Retention prunes Ferry's older copies, and a failed copy is removed, only those with its marker; the proof's runs keep fewer copies than retain. ${ONE_TEMPLATE}`,
      test: 'test/integration/image-copy.test.ts > keeps one copy per AMI name: a rebuilt AMI replaces the older copy, image and snapshots',
    }),
  ),
  {
    principal: DESTINATION_ROLE,
    action: 'ec2:ModifySnapshotTier',
    reason: `Archiving a copy (archive: true) in the role's account; the proof's vault destination does not archive. ${ONE_TEMPLATE}`,
    test: 'test/integration/snapshot-copy.test.ts > moves the copy to the archive tier when the destination says archive',
  },
  // The demo's rules invoices-rpo and media-rpo set rpo, so these functions are granted PutEvents; the
  // proof's recorded runs count no PutEvents of any function, though the demo's late item sends some (not
  // yet explained: the recorder may not see the EventBridge client's calls).
  // The RPO monitor reads the tags of an object dead letter's source version (src/rpo/dead-letters.ts).
  {
    principal: 'rpoMonitor',
    action: 's3:GetObjectVersionTagging',
    reason: VERSIONED,
    test: VERSIONED_TEST,
  },
  // test/configs/rpo.yml's snapshot and image rules set rpo: the EC2 copy step sends the events of a copy
  // verified past its RPO (none in the proof's run, whose copies are in time).
  {
    principal: 'ec2CopyStep',
    action: 'events:PutEvents',
    reason:
      'A snapshot or AMI copy of a rule with rpo verified past its RPO gets its completion event from the Finalize step (src/rpo, README “Recovery-point objective”): a late path, which the RPO test takes',
    test: 'test/integration/rpo.test.ts > It should send one missed event while a snapshot copy is still pending past its RPO, and one completion event after',
  },
  ...(['objectCreated', 'objectCopyStep', 'reconcile', 'rpoMonitor'] as const).map(
    (principal): Justification => ({
      principal,
      action: 'events:PutEvents',
      reason:
        'An item of a rule with rpo verified past its RPO, or failed for good, gets its RPO events from the step that verifies it (src/rpo, README “Recovery-point objective”): a late path, which the RPO test takes',
      test: 'test/integration/rpo.test.ts > It should judge an object replica: none within the RPO, missed and completed-after when throttling holds it past',
    }),
  ),
];

/**
 * Destination roles are one principal for justifications: they are all deploy/cross-account-role.yml.
 * objectCreatedBatch holds objectCreated's generated statements (deploy/iam/policies.ts; the package test
 * checks they are equal) plus its queue's polling: one principal here too, so that a grant either uses is
 * needed by both, and objectCreated's justifications cover its batch form.
 */
const principalOf = (principal: string): string =>
  principal.startsWith('arn:')
    ? DESTINATION_ROLE
    : principal === 'objectCreatedBatch'
      ? 'objectCreated'
      : principal;

/** One granted action that none of the runs used, with the statements that grant it. */
export interface UnusedGrant {
  principal: string;
  action: string;
  sids: string[];
}

/**
 * The surplus over several runs (each a configuration driven through its paths): an action of a principal
 * is surplus when no run used it. A run of one configuration takes only some paths; the same generated
 * statement is needed wherever any run takes its path.
 */
export function surplusAcross(reports: readonly Pick<ProofReport, 'surplus' | 'used'>[]): UnusedGrant[] {
  const used = new Set(
    reports.flatMap((report) =>
      report.used.map(({ principal, action }) => `${principalOf(principal)} ${action}`),
    ),
  );
  const unused = new Map<string, UnusedGrant>();
  for (const { principal, action, sid } of reports.flatMap((report) => report.surplus)) {
    const key = `${principalOf(principal)} ${action}`;
    if (used.has(key)) continue;
    const entry = unused.get(key) ?? { principal: principalOf(principal), action, sids: [] };
    if (!entry.sids.includes(sid)) entry.sids.push(sid);
    unused.set(key, entry);
  }
  return [...unused.values()];
}

const covers = (justification: Justification, grant: { principal: string; action: string }) =>
  justification.action === grant.action &&
  (justification.principal === principalOf(grant.principal) ||
    (justification.principal === EVERY_FUNCTION &&
      !grant.principal.startsWith('arn:') &&
      grant.principal !== DESTINATION_ROLE));

/** The unused grants no justification covers. */
export const unjustified = <Grant extends { principal: string; action: string }>(
  grants: readonly Grant[],
  justified: readonly Justification[] = JUSTIFIED,
): Grant[] => grants.filter((grant) => !justified.some((justification) => covers(justification, grant)));
