import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type AwsClientOptions, type AwsTarget, clientFactory } from '#foundation/aws-clients';
import { DETAIL_TYPE, EVENT_SOURCE, type RpoEventDetail, type RpoEventKind } from './threshold.ts';

/**
 * Ferry's RPO events on the default event bus of the function's own account and Region, with PutEvents
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html): `source: ferry`,
 * `detail-type` "Ferry Replication Missed Threshold" or "Ferry Replication Completed After Threshold", as S3
 * Replication Time Control sends OperationMissedThreshold and OperationReplicatedAfterThreshold
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-time-control.html). A rule on the bus
 * matching `{"source": ["ferry"]}` routes them anywhere (SNS, a pager, a queue).
 */

/** The one way the RPO code gets an EventBridge client: made, cached and instrumented as S3's and EC2's. */
export type EventsClientFactory = (target: AwsTarget) => EventBridgeClient;

export const createEventsClientFactory = (options: AwsClientOptions = {}): EventsClientFactory =>
  clientFactory((config) => new EventBridgeClient(config), options);

export interface RpoEvents {
  put(kind: RpoEventKind, detail: RpoEventDetail): Promise<void>;
}

/**
 * PutEvents answered 200 but refused the entry: it reports each failed entry with ErrorCode and ErrorMessage
 * and a FailedEntryCount, instead of failing the call
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html, "Handling failures").
 */
export class RpoEventRejectedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`EventBridge refused the RPO event: ${code}: ${message}`);
    this.name = 'RpoEventRejectedError';
  }
}

/** Events onto the default bus of `region` (the function's own: `AWS_REGION` in Lambda). */
export function eventBridgeRpoEvents(events: EventsClientFactory, region: string): RpoEvents {
  return {
    async put(kind, detail) {
      const answer = await events({ region }).send(
        new PutEventsCommand({
          Entries: [
            {
              Source: EVENT_SOURCE,
              DetailType: DETAIL_TYPE[kind],
              Detail: JSON.stringify(detail),
              Resources: [],
            },
          ],
        }),
      );
      const entry = answer.Entries?.[0];
      if ((answer.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode)
        throw new RpoEventRejectedError(entry?.ErrorCode ?? 'Unknown', entry?.ErrorMessage ?? '');
    },
  };
}
