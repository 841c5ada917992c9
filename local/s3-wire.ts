import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** The S3 wire format the sandbox speaks: XML errors and listings, copy sources, relayed answers. */

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface S3ErrorAnswer {
  status: number;
  code: string;
  message: string;
  extra?: Record<string, string>;
  headers?: Record<string, string>;
}

export const noSuchUpload: S3ErrorAnswer = {
  status: 404,
  code: 'NoSuchUpload',
  message:
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
};

export function sendXml(res: ServerResponse, xml: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
  res.writeHead(200, {
    'content-type': 'application/xml',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

export const preconditionFailed = (condition: string): S3ErrorAnswer => ({
  status: 412,
  code: 'PreconditionFailed',
  message: 'At least one of the pre-conditions you specified did not hold',
  extra: { Condition: condition },
});

export function sendError(res: ServerResponse, answer: S3ErrorAnswer): void {
  const extra = Object.entries(answer.extra ?? {})
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${answer.code}</Code><Message>${escapeXml(answer.message)}</Message>${extra}` +
    `<RequestId>${randomUUID()}</RequestId></Error>`;
  res.writeHead(answer.status, { 'content-type': 'application/xml', ...answer.headers });
  res.end(body);
}

export function relay(res: ServerResponse, response: UpstreamResponse): void {
  const headers = { ...response.headers };
  delete headers['transfer-encoding'];
  headers['content-length'] = String(response.body.length);
  res.writeHead(response.status, headers);
  res.end(response.body);
}

/** `bucket/key?versionId=…`, percent-encoded (any form clients send: raw, encodeURI or encodeURIComponent). */
export function parseCopySource(
  header: string,
): { bucket: string; key: string; versionId?: string } | undefined {
  const [path = '', query = ''] = header.split('?', 2);
  const decoded = decodeURIComponent(path.startsWith('/') ? path.slice(1) : path);
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) return undefined;
  const versionId = new URLSearchParams(query).get('versionId') ?? undefined;
  return {
    bucket: decoded.slice(0, slash),
    key: decoded.slice(slash + 1),
    ...(versionId ? { versionId } : {}),
  };
}

export async function readBody(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
export const escapeXml = (text: string) => text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
export const unescapeXml = (text: string) =>
  text.replace(
    /&(amp|lt|gt|quot|apos);/g,
    (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[name] ?? '',
  );
