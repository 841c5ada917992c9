import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventBus } from './event-bus.ts';
import { readBody } from './s3-wire.ts';

/**
 * Lambda's Invoke for the sandbox (REST: `POST /2015-03-31/functions/{FunctionName}/invocations`), with
 * `X-Amz-Invocation-Type: Event` only: the payload goes to the bus target behind the function, with the
 * retries (then dead letter) of an asynchronous invocation. Functions are named as the deployment names
 * them, `ferry-<stage>-<key in serverless.yml>`, with the stage `sandbox`.
 */
export const SANDBOX_FUNCTIONS: Readonly<Record<string, string>> = {
  'ferry-sandbox-objectCreated': 'object-created',
  'ferry-sandbox-objectDeleted': 'object-deleted',
  'ferry-sandbox-objectTagsChanged': 'object-tags-changed',
  'ferry-sandbox-ec2TagsChanged': 'ec2-tags-changed',
  'ferry-sandbox-snapshotCreated': 'snapshot-created',
  'ferry-sandbox-imageAvailable': 'image-available',
};

/** The ARN of the function behind a bus target (for the records of failed invocations). */
export function sandboxFunctionArn(target: string, region: string, account: string): string {
  const name = Object.keys(SANDBOX_FUNCTIONS).find((fn) => SANDBOX_FUNCTIONS[fn] === target) ?? target;
  return `arn:aws:lambda:${region}:${account}:function:${name}`;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

function sendLambdaError(res: ServerResponse, status: number, type: string, message: string) {
  const body = JSON.stringify({ Type: 'User', Message: message });
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  res.end(body);
}

/** A name, a full ARN or a partial one (`123456789012:function:NAME`), with or without `:$LATEST`. */
function functionNameOf(given: string): string {
  const afterFunction = given.includes(':function:') ? (given.split(':function:')[1] ?? '') : given;
  return afterFunction.split(':')[0] ?? '';
}

export async function serveLambda(bus: EventBus, req: IncomingMessage, res: ServerResponse, url: URL) {
  const match = INVOKE_PATH.exec(url.pathname);
  const body = await readBody(req);
  if (req.method !== 'POST' || !match?.[1])
    return sendLambdaError(
      res,
      404,
      'UnknownOperationException',
      `The Ferry sandbox serves only Lambda Invoke`,
    );
  const name = functionNameOf(decodeURIComponent(match[1]));
  const target = SANDBOX_FUNCTIONS[name];
  if (!target)
    return sendLambdaError(
      res,
      404,
      'ResourceNotFoundException',
      `Function not found: ${decodeURIComponent(match[1])}`,
    );
  const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  if (invocationType !== 'Event')
    return sendLambdaError(
      res,
      400,
      'InvalidParameterValueException',
      `The Ferry sandbox invokes functions asynchronously only (InvocationType Event), not ${invocationType}`,
    );
  let payload: unknown;
  try {
    payload = JSON.parse(body.length > 0 ? body.toString('utf8') : '{}');
  } catch {
    return sendLambdaError(
      res,
      400,
      'InvalidRequestContentException',
      'Could not parse request body into json',
    );
  }
  bus.invokeAsync(target, payload);
  res.writeHead(202, { 'x-amzn-requestid': crypto.randomUUID(), 'content-length': '0' });
  res.end();
}
