/**
 * ListObjectsV2 for the sandbox. s3rver makes V2 continuation tokens with DES, which OpenSSL 3 (Node ≥ 17)
 * no longer offers, so every truncated V2 listing fails there with InternalError. The gateway fills the gap
 * honestly: it asks s3rver the V1 way (a marker, which needs no cipher) and answers in the V2 shape, with
 * its own continuation token (the last key or common prefix of the page, base64url-encoded).
 */

const encodeToken = (position: string) => Buffer.from(position, 'utf8').toString('base64url');
const decodeToken = (token: string) => Buffer.from(token, 'base64url').toString('utf8');

const escapeXml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
const unescapeXml = (text: string) =>
  text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');

/** The V1 query to ask s3rver for a V2 request's page. */
export function v1QueryOf(v2: URLSearchParams): URLSearchParams {
  const v1 = new URLSearchParams();
  for (const name of ['prefix', 'delimiter', 'max-keys', 'encoding-type']) {
    const value = v2.get(name);
    if (value !== null) v1.set(name, value);
  }
  const token = v2.get('continuation-token');
  const marker = token ? decodeToken(token) : v2.get('start-after');
  if (marker) v1.set('marker', marker);
  return v1;
}

/** Rewrites s3rver's V1 answer as the V2 answer to the request. */
export function v2BodyOf(v1Body: string, v2: URLSearchParams): string {
  const keys = [...v1Body.matchAll(/<Contents>[\s\S]*?<Key>([^<]*)<\/Key>/g)].map((m) =>
    unescapeXml(m[1] ?? ''),
  );
  const prefixes = [...v1Body.matchAll(/<CommonPrefixes>\s*<Prefix>([^<]*)<\/Prefix>/g)].map((m) =>
    unescapeXml(m[1] ?? ''),
  );
  const truncated = /<IsTruncated>true<\/IsTruncated>/.test(v1Body);
  const last = [...keys, ...prefixes].sort().at(-1);
  const token = v2.get('continuation-token');
  const startAfter = v2.get('start-after');
  const v2Fields = [
    `<KeyCount>${keys.length + prefixes.length}</KeyCount>`,
    ...(token ? [`<ContinuationToken>${escapeXml(token)}</ContinuationToken>`] : []),
    ...(!token && startAfter ? [`<StartAfter>${escapeXml(startAfter)}</StartAfter>`] : []),
    ...(truncated && last ? [`<NextContinuationToken>${encodeToken(last)}</NextContinuationToken>`] : []),
  ].join('');
  return v1Body
    .replace(/<Marker>[^<]*<\/Marker>|<Marker\/>/, '')
    .replace(/<NextMarker>[^<]*<\/NextMarker>/, '')
    .replace(/(<\/Prefix>)/, `$1${v2Fields}`);
}
