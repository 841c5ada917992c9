import type { ServerResponse } from 'node:http';
import { escapeXml } from '../s3-wire.ts';
import type { Ec2Error } from './errors.ts';

const NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

function send(res: ServerResponse, status: number, requestId: string, xml: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
  res.writeHead(status, {
    'content-type': 'text/xml;charset=UTF-8',
    'x-amzn-requestid': requestId,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/** `<ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>`: the EC2 query protocol's answer. */
export function sendResult(res: ServerResponse, action: string, requestId: string, inner: string): void {
  send(
    res,
    200,
    requestId,
    `<${action}Response xmlns="${NAMESPACE}"><requestId>${requestId}</requestId>${inner}</${action}Response>`,
  );
}

/** EC2's error document (unlike S3's, wrapped in `Response/Errors` and with `RequestID` in capitals). */
export function sendError(res: ServerResponse, error: Ec2Error, requestId: string): void {
  const escaped = escapeXml(error.message);
  send(
    res,
    error.status,
    requestId,
    `<Response><Errors><Error><Code>${error.code}</Code><Message>${escaped}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
  );
}
