import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../s3-wire.ts';
import type { SigningScope } from '../sigv4.ts';
import type { ActionHandler, Ec2Context } from './context.ts';
import { checkIdShape, Ec2Error } from './errors.ts';
import type { Ec2Event } from './events.ts';
import { type Ec2FaultKind, Ec2Faults, faultError } from './faults.ts';
import { IdSource } from './ids.ts';
import { imageActions } from './image-actions.ts';
import { imageCopyActions } from './image-copy.ts';
import { imageProtectionActions } from './image-protection.ts';
import { KmsKeys } from './kms.ts';
import { Lifecycle } from './lifecycle.ts';
import { QueryParams } from './query.ts';
import { type ImageRecord, RegionStore, type SnapshotRecord } from './records.ts';
import { createVolume, snapshotActions, type VolumeSpec } from './snapshot-actions.ts';
import { snapshotCopyActions } from './snapshot-copy.ts';
import { snapshotLockActions } from './snapshot-locks.ts';
import { tagActions } from './tag-actions.ts';
import { type BucketSize, RequestThrottle, type ThrottleCategory } from './throttle.ts';
import { sendError, sendResult } from './wire.ts';

export interface FakeEc2Options {
  /** The owner of everything created (the sandbox uses '000000000000'). */
  account: string;
  /** The sandbox's virtual clock (ms): every duration (copies, token refills) runs on it. */
  clock: { now(): number };
  /** Seeded, for fault rates. */
  random?: () => number;
  /** Per Region, the KMS keys (ids, ARNs or aliases) that exist there; `alias/aws/ebs` always does. */
  kmsKeys?: Record<string, string[]>;
  /** How fast each copy moves bytes, in virtual time: 500 MiB/s by default, as AWS documents. */
  copyBytesPerSecond?: number;
  /**
   * How long a RegisterImage stays `pending` before the image is available (virtual clock): 30 s by default,
   * so tags added right after it (CLI v2 2.9.19 has no `register-image --tag-specifications`) are on the
   * image when its "EC2 AMI State Change" event fires.
   */
  registerImageSeconds?: number;
  /** Concurrent copies per destination Region: 20 snapshot copies and 50 image copies by default. */
  limits?: { concurrentSnapshotCopies?: number; concurrentImageCopies?: number };
  /** Request-rate token buckets (on by default, with EC2's published sizes); `false` turns them off. */
  throttling?: false | Partial<Record<ThrottleCategory, BucketSize>>;
  /** EventBridge-shaped events, as EC2 and EBS send them. */
  onEvent?: (event: Ec2Event) => void;
  /**
   * Asks for a wake-up on the virtual clock at `at`. Given, every copy settles (and emits its event) when
   * its time comes, as in AWS, rather than when someone next looks: what event-driven waiting needs, since
   * nothing polls the copy. Without it (polling, the default), copies settle lazily.
   */
  wakeAt?: (at: number, wake: () => void) => void;
}

const ACTIONS: Record<string, ActionHandler> = {
  ...snapshotActions,
  ...snapshotCopyActions,
  ...snapshotLockActions,
  ...imageActions,
  ...imageCopyActions,
  ...imageProtectionActions,
  ...tagActions,
};

/** A snapshot copy the concurrent-copy limit counts, from its start until it settled or was deleted (ms). */
interface CopyRun {
  region: string;
  start: number;
  end: number | undefined;
}

/** See `FakeEc2Options.registerImageSeconds`. */
export const DEFAULT_REGISTER_IMAGE_SECONDS = 30;

/** The actions the fake answers. */
export const EC2_ACTIONS = Object.keys(ACTIONS).sort();

/**
 * A fake EC2 query-protocol server for the local sandbox: snapshots, images, tags, volumes and instances per
 * Region (the Region of each request is its SigV4 scope), copies that progress on the virtual clock, EC2's
 * copy limits and request throttling, failure states, injected faults and EventBridge-shaped events.
 * Answers the AWS SDK v3 and the AWS CLI (v1 and v2). Signatures are not verified.
 */
export class FakeEc2 {
  readonly faults: Ec2Faults;
  /** Requests served, by action. */
  readonly requests = new Map<string, number>();
  /** Error answers, by EC2 error code (injected faults, throttling, the copy limits, bad requests…). */
  readonly errors = new Map<string, number>();
  /** Every event emitted, in order. */
  readonly events: Ec2Event[] = [];
  private readonly stores = new Map<string, RegionStore>();
  /** Every snapshot copy the limit counts, by id: kept after the copy is deleted (`peakConcurrentCopies`). */
  private readonly copyRuns = new Map<string, CopyRun>();
  private readonly context: Ec2Context;
  private readonly throttle: RequestThrottle | undefined;

  constructor(private readonly options: FakeEc2Options) {
    const now = () => options.clock.now();
    this.faults = new Ec2Faults(options.random);
    this.throttle =
      options.throttling === false
        ? undefined
        : new RequestThrottle(now, options.account, options.throttling ?? {});
    const lifecycle = new Lifecycle(
      now,
      () => this.stores.values(),
      (event) => this.emit(event),
    );
    this.context = {
      account: options.account,
      now,
      ids: new IdSource(),
      kms: new KmsKeys(options.account, options.kmsKeys),
      lifecycle,
      store: (region) => this.store(region),
      stores: () => this.stores.values(),
      copyBytesPerSecond: options.copyBytesPerSecond ?? 500 * 1024 * 1024,
      registrationMs: (options.registerImageSeconds ?? DEFAULT_REGISTER_IMAGE_SECONDS) * 1000,
      limits: {
        snapshotCopies: options.limits?.concurrentSnapshotCopies ?? 20,
        imageCopies: options.limits?.concurrentImageCopies ?? 50,
      },
    };
  }

  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    scope: SigningScope | undefined,
  ): Promise<void> {
    const requestId = randomUUID();
    try {
      const body = req.method === 'POST' ? (await readBody(req)).toString('utf8') : '';
      const params = QueryParams.parse(body, url);
      const action = params.required('Action');
      this.requests.set(action, (this.requests.get(action) ?? 0) + 1);
      const fault = this.faults.next(action);
      const inner = this.answer(action, scope?.region ?? 'us-east-1', params, requestId, fault);
      if (fault === 'lost-answer') {
        res.destroy();
        return;
      }
      sendResult(res, action, requestId, inner);
    } catch (error) {
      const answer =
        error instanceof Ec2Error
          ? error
          : new Ec2Error(
              'InternalError',
              `An internal error has occurred. (${(error as Error).message})`,
              500,
            );
      this.errors.set(answer.code, (this.errors.get(answer.code) ?? 0) + 1);
      sendError(res, answer, requestId);
    }
  }

  private answer(
    action: string,
    region: string,
    params: QueryParams,
    requestId: string,
    fault: Ec2FaultKind | undefined,
  ): string {
    const handler = ACTIONS[action];
    if (!handler)
      throw new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`);
    if (fault && fault !== 'copy-error' && fault !== 'lost-answer')
      throw faultError(fault, this.options.account, action);
    this.throttle?.take(region, action);
    this.refresh();
    if (params.bool('DryRun')) {
      throw new Ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
    }
    try {
      return handler(this.context, { action, region, params, requestId, failCopy: fault === 'copy-error' });
    } finally {
      this.recordCopyRuns();
      this.scheduleCopyEnds();
    }
  }

  /** Copies whose end has a wake-up on the clock (`wakeAt`). */
  private readonly scheduledEnds = new Set<string>();

  /** Each pending copy gets a wake-up at its end (or its injected failure), where the clock refreshes it. */
  private scheduleCopyEnds(): void {
    const wakeAt = this.options.wakeAt;
    if (!wakeAt) return;
    for (const store of this.stores.values()) {
      for (const snapshot of store.snapshots.values()) {
        const copy = snapshot.copy;
        if (!copy || snapshot.state !== 'pending' || this.scheduledEnds.has(snapshot.snapshotId)) continue;
        this.scheduledEnds.add(snapshot.snapshotId);
        wakeAt(copy.failure?.at ?? copy.endsAt, () => this.refresh());
      }
    }
  }

  /** Seeds a volume (as if created earlier); returns its id. */
  createVolume(region: string, spec: VolumeSpec): string {
    return createVolume(this.context, region, spec).volumeId;
  }

  /** Seeds an instance with these volumes attached, the first as root device; returns its id. */
  createInstance(region: string, volumeIds: readonly string[]): string {
    const store = this.store(region);
    for (const id of volumeIds) {
      checkIdShape('vol', id);
      store.volume(id);
    }
    const instanceId = this.context.ids.next('i');
    const devices = volumeIds.map((volumeId, index) => ({
      deviceName: index === 0 ? '/dev/xvda' : `/dev/xvd${String.fromCharCode(98 + index - 1)}`,
      volumeId,
    }));
    store.instances.set(instanceId, { instanceId, region, devices });
    return instanceId;
  }

  snapshot(region: string, id: string): Readonly<SnapshotRecord> | undefined {
    this.refresh();
    return this.stores.get(region)?.snapshots.get(id);
  }

  snapshots(region: string): Readonly<SnapshotRecord>[] {
    this.refresh();
    return [...(this.stores.get(region)?.snapshots.values() ?? [])];
  }

  image(region: string, id: string): Readonly<ImageRecord> | undefined {
    this.refresh();
    return this.stores.get(region)?.images.get(id);
  }

  images(region: string): Readonly<ImageRecord>[] {
    this.refresh();
    return [...(this.stores.get(region)?.images.values() ?? [])];
  }

  /**
   * The most snapshot copies that ran at once in a Region: those the concurrent-copy limit counts (started by
   * CopySnapshot, not the snapshots behind image copies), each from its start until it completed, failed or
   * was deleted. A copy that ends at the moment another starts does not overlap it, as for the limit.
   */
  peakConcurrentCopies(region: string): number {
    this.refresh();
    const edges = [...this.copyRuns.values()]
      .filter((run) => run.region === region)
      .flatMap((run) => [
        { at: run.start, delta: 1 },
        { at: run.end ?? Number.POSITIVE_INFINITY, delta: -1 },
      ])
      .sort((a, b) => a.at - b.at || a.delta - b.delta);
    let current = 0;
    let peak = 0;
    for (const edge of edges) {
      current += edge.delta;
      peak = Math.max(peak, current);
    }
    return peak;
  }

  /** Tokens left in an action's request bucket in a Region (Infinity without throttling). */
  tokens(region: string, action: string): number {
    return this.throttle?.tokens(region, action) ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Brings copies up to date with the virtual clock (progress, completion, failure) and emits the events of
   * those that finished. Every request does it first; call it after moving the clock to see events sooner.
   */
  refresh(): void {
    this.context.lifecycle.refresh();
    this.recordCopyRuns();
  }

  /** Resolves once the source creations under way have finished and emitted their events. */
  settle(): Promise<void> {
    return this.context.lifecycle.settle();
  }

  private store(region: string): RegionStore {
    let store = this.stores.get(region);
    if (!store) {
      store = new RegionStore(region);
      this.stores.set(region, store);
    }
    return store;
  }

  /**
   * Notes the copies started, settled or deleted since the last call. Every request refreshes before it acts
   * and records after, so a copy is seen settled before a request deletes it; one deleted while still
   * pending ends when it was deleted.
   */
  private recordCopyRuns(): void {
    for (const store of this.stores.values()) {
      for (const snapshot of store.snapshots.values()) {
        if (!snapshot.copy || snapshot.copy.imageId) continue;
        const run = this.copyRuns.get(snapshot.snapshotId);
        if (run?.end !== undefined) continue;
        this.copyRuns.set(snapshot.snapshotId, {
          region: store.name,
          start: snapshot.startTime,
          end: snapshot.completionTime,
        });
      }
    }
    const now = this.context.now();
    for (const [snapshotId, run] of this.copyRuns) {
      if (run.end === undefined && !this.stores.get(run.region)?.snapshots.has(snapshotId)) run.end = now;
    }
  }

  private emit(event: Ec2Event): void {
    this.events.push(event);
    this.options.onEvent?.(event);
  }
}
