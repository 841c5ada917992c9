import type { IncomingHttpHeaders } from 'node:http';

/** The Region and service a SigV4 request was signed for: `Credential=AKID/DATE/REGION/SERVICE/aws4_request`. */
export interface SigningScope {
  accessKeyId: string;
  region: string;
  service: string;
}

const SCOPE = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

export function signingScopeOf(headers: IncomingHttpHeaders, url: URL): SigningScope | undefined {
  const fromHeader = SCOPE.exec(String(headers.authorization ?? ''));
  const credential = url.searchParams.get('X-Amz-Credential');
  const match = fromHeader ?? (credential ? SCOPE.exec(`Credential=${credential}`) : null);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { accessKeyId: match[1], region: match[2], service: match[3] };
}

/** Query parameters of a presigned URL; the gateway checks the scope and forwards the request unsigned. */
export const SIGNATURE_QUERY_PARAMETERS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
];
