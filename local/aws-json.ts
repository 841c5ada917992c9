import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from './s3-wire.ts';

/** The AWS JSON 1.0 protocol (Step Functions, SQS): `X-Amz-Target: Prefix.Operation`, JSON in and out. */

export async function readJsonRequest(req: IncomingMessage): Promise<{ operation: string; input: unknown }> {
  const target = String(req.headers['x-amz-target'] ?? '');
  const body = (await readBody(req)).toString('utf8');
  return { operation: target.slice(target.lastIndexOf('.') + 1), input: body ? JSON.parse(body) : {} };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** A JSON 1.0 error: `__type` names the shape the SDK throws. */
export function sendJsonError(res: ServerResponse, status: number, type: string, message: string) {
  sendJson(res, status, { __type: type, message });
}

/** Dates cross JSON 1.0 as epoch seconds. */
export const epochSeconds = (ms: number): number => ms / 1000;
