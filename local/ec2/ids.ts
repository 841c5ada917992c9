/**
 * Resource ids as EC2 shapes them (`snap-` + 17 hex digits), deterministic per server so a run repeats:
 * a counter scrambled by an odd multiplier (a bijection modulo 2^64, so ids never collide).
 */
export class IdSource {
  private counter = 0n;

  next(prefix: 'snap' | 'ami' | 'vol' | 'i'): string {
    this.counter += 1n;
    const scrambled = (this.counter * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    return `${prefix}-${scrambled.toString(16).padStart(17, '0')}`;
  }
}

/**
 * EBS writes its resource ARNs without an account, and puts the Region in the account's place in
 * multi-volume events: `arn:aws:ec2:us-west-2::snapshot/snap-…` vs `arn:aws:ec2::us-west-2:snapshot/snap-…`
 * (as in the EBS user guide's samples).
 */
export const ebsArn = (region: string, type: 'snapshot' | 'volume' | 'image', id: string) =>
  `arn:aws:ec2:${region}::${type}/${id}`;
export const multiVolumeArn = (region: string, type: 'snapshot' | 'volume', id: string) =>
  `arn:aws:ec2::${region}:${type}/${id}`;

/** Event times: ISO 8601 to the second, as EventBridge writes them. */
export const eventTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const isoTime = (ms: number) => new Date(ms).toISOString();
