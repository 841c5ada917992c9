/**
 * The tags Ferry puts on every snapshot and image copy it makes. They are how Ferry finds its own copy of a
 * source again (a restarted execution resumes instead of copying twice), how retention knows which copies
 * are Ferry's to prune (never anything else), and how the handlers skip copies Ferry made (no loops).
 * The `ferry:` prefix is reserved: rules may not set such tags themselves.
 */
export const MARKER = {
  sourceId: 'ferry:source-id',
  sourceRegion: 'ferry:source-region',
  rule: 'ferry:rule',
  /** What retention counts per: the source volume of a snapshot, the name of an AMI. */
  group: 'ferry:group',
} as const;

export type Tags = Readonly<Record<string, string>>;

export const isFerryCopy = (tags: Tags): boolean => MARKER.sourceId in tags;

/** Tags as EC2 lists them (`[{Key, Value}]`) to a plain map. */
export function tagMap(
  tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined,
): Tags {
  return Object.fromEntries((tags ?? []).flatMap(({ Key, Value }) => (Key ? [[Key, Value ?? '']] : [])));
}

/** DescribeSnapshots / DescribeImages filters for resources that carry all of these tags. */
export const tagFilters = (tags: Tags): { Name: string; Values: string[] }[] =>
  Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));

export const tagList = (tags: Tags): { Key: string; Value: string }[] =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/** User tags worth copying: `aws:` tags are AWS's (EC2 refuses them), `ferry:` tags are Ferry's own. */
export const copyableTags = (tags: Tags): Tags =>
  Object.fromEntries(
    Object.entries(tags).filter(([key]) => {
      const lower = key.toLowerCase();
      return !lower.startsWith('aws:') && !lower.startsWith('ferry:');
    }),
  );
