import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { S3EventSource } from '../s3-events.ts';
import type { SigningScope } from '../sigv4.ts';
import type { CopyModel } from './copy-model.ts';
import type { S3Store } from './store.ts';

/** What every operation is handed: the store, the event source, the options of the gateway. */
export interface S3Context {
  store: S3Store;
  events: S3EventSource;
  account: string;
  /** The time (ms) Object Lock dates are held against: the sandbox's virtual clock. */
  now: () => number;
  /** Benchmarks: how fast S3 copies bytes server-side, per request and per bucket pair (copy-model.ts). */
  copyModel?: CopyModel;
}

/** One S3 request, parsed: path-style bucket and key, query, headers (body decoded from aws-chunked). */
export interface S3Request {
  method: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Readable;
  res: ServerResponse;
  scope: SigningScope | undefined;
}

export type S3Operation = (context: S3Context, request: S3Request) => Promise<void> | void;

export const header = (request: S3Request, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

/** An empty answer with headers (204 for deletes, 200 for writes that return only headers). */
export function sendEmpty(request: S3Request, status: number, headers: Record<string, string> = {}): void {
  request.res.writeHead(status, { ...headers, 'content-length': '0' });
  request.res.end();
}
