import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonRequest, sendJson, sendJsonError } from './aws-json.ts';
import type { EventBus } from './event-bus.ts';
import type { SigningScope } from './sigv4.ts';

/**
 * The sandbox's EventBridge API: PutEvents onto the default bus (JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`),
 * the way Ferry sends its RPO events. As PutEvents does
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html): 1 to 10 entries, each
 * with Source, DetailType and a Detail that is a JSON object; a bad entry is refused in the answer
 * (`ErrorCode`, `FailedEntryCount`) while the others are put; more than 10 entries is a ValidationException.
 * Only the default bus exists here: another bus name fails its entry with ResourceNotFoundException.
 * Each accepted event is published as EventBridge delivers it, in the envelope every event has
 * (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
 */

const MAX_ENTRIES = 10;
/** 256 KB per entry (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html). */
const MAX_ENTRY_BYTES = 256 * 1024;

interface Entry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Resources?: unknown;
  Time?: unknown;
}

type Answer = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

function isDefaultBus(name: unknown, scope: SigningScope, account: string): boolean {
  return (
    name === undefined ||
    name === 'default' ||
    name === `arn:aws:events:${scope.region}:${account}:event-bus/default`
  );
}

function accept(entry: Entry, scope: SigningScope, account: string, now: number, bus: EventBus): Answer {
  if (typeof entry.Source !== 'string' || entry.Source === '')
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
    };
  if (typeof entry.DetailType !== 'string' || entry.DetailType === '')
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
    };
  if (typeof entry.Detail !== 'string')
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.',
    };
  if (!isDefaultBus(entry.EventBusName, scope, account))
    return {
      ErrorCode: 'ResourceNotFoundException',
      ErrorMessage: `Event bus ${String(entry.EventBusName)} does not exist.`,
    };
  if (Buffer.byteLength(JSON.stringify(entry)) > MAX_ENTRY_BYTES)
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Total size of the entries in the request is over the limit.',
    };
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail))
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  const time = typeof entry.Time === 'number' ? entry.Time * 1000 : now;
  const resources = Array.isArray(entry.Resources) ? entry.Resources : [];
  const id = publishEvent(
    bus,
    { source: entry.Source, detailType: entry.DetailType, detail, resources },
    {
      account,
      region: scope.region,
      time,
    },
  );
  return { EventId: id };
}

/** Puts an event on the bus in EventBridge's envelope; returns its id. */
export function publishEvent(
  bus: EventBus,
  event: { source: string; detailType: string; detail: unknown; resources?: unknown[] },
  where: { account: string; region: string; time: number },
): string {
  const id = randomUUID();
  bus.put({
    version: '0',
    id,
    'detail-type': event.detailType,
    source: event.source,
    account: where.account,
    time: new Date(where.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: where.region,
    resources: event.resources ?? [],
    detail: event.detail,
  });
  return id;
}

export async function serveEvents(
  bus: EventBus,
  account: string,
  now: () => number,
  req: IncomingMessage,
  res: ServerResponse,
  scope: SigningScope,
): Promise<void> {
  const { operation, input } = await readJsonRequest(req);
  if (operation !== 'PutEvents')
    return sendJsonError(
      res,
      400,
      'UnknownOperationException',
      `The Ferry sandbox does not serve events:${operation}`,
    );
  const entries = (input as { Entries?: unknown }).Entries;
  if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES)
    return sendJsonError(
      res,
      400,
      'ValidationException',
      `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES}`,
    );
  const answers = (entries as Entry[]).map((entry) => accept(entry, scope, account, now(), bus));
  return sendJson(res, 200, {
    FailedEntryCount: answers.filter((answer) => 'ErrorCode' in answer).length,
    Entries: answers,
  });
}
