import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** The S3 wire format the sandbox speaks: XML answers and errors, small XML request bodies, copy sources. */

export interface S3ErrorAnswer {
  status: number;
  code: string;
  message: string;
  extra?: Record<string, string>;
  headers?: Record<string, string>;
}

/** An S3 error answer, thrown by an operation and sent by the router (status, code and message as S3's). */
export class S3ServiceError extends Error {
  readonly answer: S3ErrorAnswer;
  constructor(answer: S3ErrorAnswer, options?: ErrorOptions) {
    super(`${answer.status} ${answer.code}: ${answer.message}`, options);
    this.name = 'S3ServiceError';
    this.answer = answer;
  }
}

export const s3Error = (
  status: number,
  code: string,
  message: string,
  more: Pick<S3ErrorAnswer, 'extra' | 'headers'> = {},
) => new S3ServiceError({ status, code, message, ...more });

export const noSuchUpload = () =>
  s3Error(
    404,
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  );

export const noSuchKey = (key: string) =>
  s3Error(404, 'NoSuchKey', 'The specified key does not exist.', { extra: { Key: key } });

export const preconditionFailed = (condition: string) =>
  s3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
    extra: { Condition: condition },
  });

export const invalidArgument = (message: string, name?: string, value?: string) =>
  s3Error(400, 'InvalidArgument', message, {
    extra: name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' },
  });

export function sendXml(res: ServerResponse, xml: string, headers: Record<string, string> = {}): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
  res.writeHead(200, {
    ...headers,
    'content-type': 'application/xml',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

export function sendError(res: ServerResponse, answer: S3ErrorAnswer, method = 'GET'): void {
  const extra = Object.entries(answer.extra ?? {})
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${answer.code}</Code><Message>${escapeXml(answer.message)}</Message>${extra}` +
    `<RequestId>${randomUUID()}</RequestId></Error>`;
  // A HEAD answer has no body: S3 sends the status alone, and the SDK names the error by status.
  const bodyless = method === 'HEAD' || answer.status === 304;
  res.writeHead(answer.status, {
    'content-type': 'application/xml',
    ...(bodyless ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
    ...answer.headers,
  });
  res.end(bodyless ? undefined : body);
}

/** `bucket/key?versionId=…`, percent-encoded (any form clients send: raw, encodeURI or encodeURIComponent). */
export function parseCopySource(
  header: string,
): { bucket: string; key: string; versionId?: string } | undefined {
  const [path = '', query = ''] = header.split('?', 2);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.startsWith('/') ? path.slice(1) : path);
  } catch {
    return undefined;
  }
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
    /&(amp|lt|gt|quot|apos|#(\d+)|#x([0-9a-fA-F]+));/g,
    (_, name: string, dec?: string, hex?: string) => {
      if (dec) return String.fromCodePoint(Number(dec));
      if (hex) return String.fromCodePoint(Number.parseInt(hex, 16));
      return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[name] ?? '';
    },
  );

/** `<Name>text</Name>` as XML, escaped; nothing when the value is undefined. */
export const element = (name: string, value: string | number | boolean | undefined): string =>
  value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`;

/**
 * The text of every `<name>` element in a small request body (tag sets, part lists, delete lists). S3's
 * request bodies are flat enough that this is exact for them; a body that is not XML is MalformedXML.
 */
export function xmlElements(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, 'g'))].map(
    (match) => match[1] ?? '',
  );
}

export const xmlValue = (xml: string, name: string): string | undefined => {
  const [value] = xmlElements(xml, name);
  return value === undefined ? undefined : unescapeXml(value.trim());
};

export const malformedXml = () =>
  s3Error(
    400,
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
  );

/** S3's HTTP dates: `Wed, 02 Dec 2026 06:29:27 GMT`. */
export const httpDate = (date: Date) => date.toUTCString();
/**
 * S3's XML dates: ISO 8601 in whole seconds (`2026-12-02T06:29:27.000Z`), as precise as its HTTP dates, so
 * a listing's LastModified and a HEAD's Last-Modified compare as equal for one object.
 */
export const xmlDate = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString();
