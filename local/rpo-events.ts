import { DETAIL_TYPE, type RpoEventDetail } from '#rpo/threshold';

/**
 * The RPO events the handlers and the backlog monitor put on the sandbox's default bus (`source: ferry`, the
 * two detail types of src/rpo/threshold.ts), read back from what the bus published: what a consumer's
 * EventBridge rule `{"source": ["ferry"]}` would receive.
 */
export interface RpoBusEvent {
  'detail-type': (typeof DETAIL_TYPE)[keyof typeof DETAIL_TYPE];
  detail: RpoEventDetail;
}

const RPO_DETAIL_TYPES: readonly string[] = Object.values(DETAIL_TYPE);

export function rpoEventsOf(published: readonly unknown[]): RpoBusEvent[] {
  return published.filter((event): event is RpoBusEvent => {
    const { source, 'detail-type': detailType } = event as { source?: unknown; 'detail-type'?: unknown };
    return source === 'ferry' && typeof detailType === 'string' && RPO_DETAIL_TYPES.includes(detailType);
  });
}

export const isMissed = (event: RpoBusEvent): boolean => event['detail-type'] === DETAIL_TYPE.missed;
