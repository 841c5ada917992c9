/** The KMS key every account has in every Region for EBS; encrypted copies use it unless told otherwise. */
export const DEFAULT_EBS_KEY = 'alias/aws/ebs';

/**
 * The KMS keys that exist in each Region, as the sandbox declares them (key ids, key ARNs or aliases).
 * EC2 accepts a key by id, ARN, alias or alias ARN; a key from another Region does not exist here.
 */
export class KmsKeys {
  constructor(
    private readonly account: string,
    private readonly keys: Readonly<Record<string, readonly string[]>> = {},
  ) {}

  exists(region: string, key: string): boolean {
    if (this.names(region, DEFAULT_EBS_KEY).includes(key)) return true;
    return (this.keys[region] ?? []).some((known) => this.names(region, known).includes(key));
  }

  /**
   * The ARN DescribeSnapshots shows for a key. AWS resolves aliases to the key's ARN; the sandbox has no
   * key ids behind its aliases, so an alias shows as its alias ARN (the default key as a fixed key ARN).
   */
  arnOf(region: string, key: string): string {
    if (key.startsWith('arn:')) return key;
    if (key === DEFAULT_EBS_KEY) return `arn:aws:kms:${region}:${this.account}:key/${defaultKeyId(region)}`;
    if (key.startsWith('alias/')) return `arn:aws:kms:${region}:${this.account}:${key}`;
    return `arn:aws:kms:${region}:${this.account}:key/${key}`;
  }

  /** Every way to name one key in a Region. */
  private names(region: string, key: string): string[] {
    const arn = this.arnOf(region, key);
    const bare = arn.slice(arn.lastIndexOf(':') + 1); // key/<id> or alias/<name>
    const names = [key, arn, bare];
    if (bare.startsWith('key/')) names.push(bare.slice(4));
    if (key === DEFAULT_EBS_KEY) names.push(`arn:aws:kms:${region}:${this.account}:${DEFAULT_EBS_KEY}`);
    return names;
  }
}

/** A stable, UUID-shaped id for the default key of a Region. */
function defaultKeyId(region: string): string {
  let hash = 0x811c9dc5;
  for (const char of region) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  const hex = hash.toString(16).padStart(8, '0');
  return `${hex}-0eb5-4000-8000-${hex}${hex.slice(0, 4)}`;
}
