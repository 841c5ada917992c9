// A generated pair of S3 Inventory reports (source and one destination) with a known truth, for
// `npm run bench -- inventory`: CSV text exactly as S3 writes it (src/reconcile/inventory/rows.ts).
import { seededRandom } from '#local/virtual-clock';
import { ObjectRuleSchema } from '#rules/schema';

/** A versioned inventory with encryption: the fields Ferry's inventory configuration asks for. */
export const BENCH_FILE_SCHEMA =
  'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, EncryptionStatus';

export const BENCH_RULE = ObjectRuleSchema.parse({
  name: 'bench',
  objects: { bucket: 'bench-source', prefix: 'data/' },
  to: [
    {
      bucket: 'bench-replica',
      region: 'us-west-2',
      keyPrefix: 'mirror/',
      replicateDeletes: true,
      replicateLifecycleDeletes: true,
    },
  ],
});

/** Shares of the source's current objects, drawn per object; the rest is matched. */
export const BENCH_SHARES = {
  missing: 0.01,
  staleSize: 0.005,
  staleETag: 0.005,
  /** Both sides under SSE-KMS: ETags not comparable, left to the HEAD check. */
  unverifiable: 0.005,
  /** A replica whose source was deleted (half with a delete marker, half gone), per source object. */
  orphaned: 0.005,
  /** An older version of the source besides its current one (ignored by the join). */
  oldVersion: 0.02,
};

export interface InventoryTruth {
  matched: number;
  /** Source keys. */
  missing: string[];
  stale: string[];
  unverifiable: string[];
  /** Replica keys. */
  orphanCandidates: string[];
}

export interface InventoryPair {
  /** The CSV files of each side, `rowsPerFile` rows each (S3 splits a large inventory into several files). */
  sourceFiles: string[];
  replicaFiles: string[];
  sourceRows: number;
  replicaRows: number;
  truth: InventoryTruth;
}

const hex32 = (random: () => number) => {
  let out = '';
  for (let i = 0; i < 4; i++)
    out += Math.floor(random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return out;
};
const field = (value: string) => `"${value}"`;
/** As S3 Inventory encodes a key: URL-encoded, a space as `+`. */
const encodeKey = (key: string) => encodeURIComponent(key).replaceAll('%20', '+');

function rowLine(
  bucket: string,
  key: string,
  version: { id: string; latest: boolean; deleteMarker?: boolean },
  object: { size: number; modified: string; eTag: string; encryption: string } | undefined,
): string {
  return [
    bucket,
    encodeKey(key),
    version.id,
    String(version.latest),
    String(version.deleteMarker ?? false),
    object ? String(object.size) : '',
    object?.modified ?? '2026-11-01T00:00:00.000Z',
    object?.eTag ?? '',
    object ? 'STANDARD' : '',
    object?.encryption ?? '',
  ]
    .map(field)
    .join(',');
}

/** Splits lines into files of `rowsPerFile`, in generation order (S3 promises no order within a report). */
function filesOf(lines: string[], rowsPerFile: number): string[] {
  const files: string[] = [];
  for (let start = 0; start < lines.length; start += rowsPerFile)
    files.push(`${lines.slice(start, start + rowsPerFile).join('\n')}\n`);
  return files;
}

const KINDS = [
  ['missing', BENCH_SHARES.missing],
  ['staleSize', BENCH_SHARES.staleSize],
  ['staleETag', BENCH_SHARES.staleETag],
  ['unverifiable', BENCH_SHARES.unverifiable],
] as const;
type Kind = (typeof KINDS)[number][0] | 'matched';

/** The share a roll in [0, 1) falls in. */
function kindOf(roll: number): Kind {
  let cut = 0;
  for (const [kind, share] of KINDS) {
    cut += share;
    if (roll < cut) return kind;
  }
  return 'matched';
}

/**
 * `objects` current source objects under the rule's prefix, each drawn into one of the shares above, and their
 * replica rows under the destination's keyPrefix. Keys include spaces and non-ASCII characters so decoding is
 * on the measured path.
 */
export function generateInventoryPair(objects: number, seed: number, rowsPerFile = 100_000): InventoryPair {
  const random = seededRandom(seed);
  const { bucket } = BENCH_RULE.objects;
  const replicaBucket = 'bench-replica';
  const source: string[] = [];
  const replica: string[] = [];
  const truth: InventoryTruth = {
    matched: 0,
    missing: [],
    stale: [],
    unverifiable: [],
    orphanCandidates: [],
  };
  const before = '2026-11-01T10:00:00.000Z';
  const written = '2026-11-02T10:00:00.000Z';
  const copied = '2026-11-02T10:05:00.000Z';
  for (let i = 0; i < objects; i++) {
    const name = i % 50 === 0 ? `naïve name ${i}` : `${i % 997}/${i}-${hex32(random).slice(0, 8)}`;
    const key = `data/${name}.bin`;
    const replicaKey = `mirror/${name}.bin`;
    const size = Math.floor(random() * 10_000_000);
    const eTag = hex32(random);
    if (random() < BENCH_SHARES.oldVersion)
      source.push(
        rowLine(
          bucket,
          key,
          { id: `o${i}`, latest: false },
          {
            size: size + 7,
            modified: before,
            eTag: hex32(random),
            encryption: 'SSE-S3',
          },
        ),
      );
    const kind = kindOf(random());
    const encryption = kind === 'unverifiable' ? 'SSE-KMS' : 'SSE-S3';
    source.push(
      rowLine(bucket, key, { id: `v${i}`, latest: true }, { size, modified: written, eTag, encryption }),
    );
    if (kind === 'missing') {
      truth.missing.push(key);
      continue;
    }
    const replicaObject = { size, modified: copied, eTag, encryption };
    if (kind === 'staleSize') replicaObject.size += 1;
    if (kind === 'staleETag') replicaObject.eTag = hex32(random);
    replica.push(rowLine(replicaBucket, replicaKey, { id: `r${i}`, latest: true }, replicaObject));
    if (kind === 'matched') truth.matched += 1;
    else if (kind === 'unverifiable') truth.unverifiable.push(key);
    else truth.stale.push(key);

    if (random() < BENCH_SHARES.orphaned) {
      const gone = `gone/${i}.bin`;
      // A versioned source keeps a delete marker as its latest version; an unversioned one lists nothing.
      if (i % 2 === 0)
        source.push(
          rowLine(bucket, `data/${gone}`, { id: `d${i}`, latest: true, deleteMarker: true }, undefined),
        );
      replica.push(
        rowLine(
          replicaBucket,
          `mirror/${gone}`,
          { id: `g${i}`, latest: true },
          {
            size,
            modified: copied,
            eTag,
            encryption,
          },
        ),
      );
      truth.orphanCandidates.push(`mirror/${gone}`);
    }
  }
  for (const list of [truth.missing, truth.stale, truth.unverifiable, truth.orphanCandidates]) list.sort();
  return {
    sourceFiles: filesOf(source, rowsPerFile),
    replicaFiles: filesOf(replica, rowsPerFile),
    sourceRows: source.length,
    replicaRows: replica.length,
    truth,
  };
}
