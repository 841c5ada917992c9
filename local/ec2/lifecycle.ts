import { type Ec2Event, imageStateChanged, snapshotCopied } from './events.ts';
import type { ImageRecord, RegionStore, SnapshotRecord } from './records.ts';

/** How far a pending copy has come at `at`: linear in time, whole percent, 100 only once completed. */
export function progressAt(snapshot: SnapshotRecord, at: number): number {
  const endsAt = snapshot.copy?.endsAt ?? snapshot.startTime;
  if (endsAt <= snapshot.startTime) return 99;
  const share = (at - snapshot.startTime) / (endsAt - snapshot.startTime);
  return Math.max(0, Math.min(99, Math.floor(share * 100)));
}

/**
 * Moves resources through their states:
 * - source creations (CreateSnapshot, CreateImage, …) finish on the next turn of the event loop: they take
 *   seconds to minutes in AWS, and nothing in Ferry depends on how long; a RegisterImage completes after its
 *   registration time on the virtual clock (tags may be added to the pending image meanwhile);
 * - copies finish on the virtual clock, lazily: whoever looks (a request, `refresh`) brings them up to date,
 *   and the events of everything that finished since are emitted in the order it finished.
 */
export class Lifecycle {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly now: () => number,
    private readonly regions: () => Iterable<RegionStore>,
    private readonly emit: (event: Ec2Event) => void,
  ) {}

  /** Runs `work` on the next turn of the event loop and emits the events it returns. */
  soon(work: () => (Ec2Event | undefined)[]): void {
    const done = new Promise<void>((resolve) =>
      setImmediate(() => {
        try {
          for (const event of work()) if (event) this.emit(event);
        } finally {
          resolve();
        }
      }),
    );
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /** Resolves once every source creation under way has finished and copies are up to date. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    this.refresh();
  }

  refresh(): void {
    const now = this.now();
    const finished: { at: number; event: Ec2Event | undefined }[] = [];
    for (const store of this.regions()) {
      for (const snapshot of store.snapshots.values()) {
        const at = this.advanceCopy(snapshot, now);
        if (at !== undefined && !snapshot.copy?.imageId)
          finished.push({ at, event: snapshotCopied(snapshot) });
      }
      for (const image of store.images.values()) {
        const at = this.advanceImageCopy(store, image) ?? this.advanceRegistration(image, now);
        const state = image.state === 'failed' ? 'failed' : 'available';
        if (at !== undefined) finished.push({ at, event: imageStateChanged(image, state, at) });
      }
    }
    // Stable: at equal times a snapshot's event comes before its image's.
    finished.sort((a, b) => a.at - b.at);
    for (const { event } of finished) if (event) this.emit(event);
  }

  /** Settles a copy whose time has come; returns when it settled, or undefined if it is still running. */
  private advanceCopy(snapshot: SnapshotRecord, now: number): number | undefined {
    const copy = snapshot.copy;
    if (snapshot.state !== 'pending' || !copy) return undefined;
    const settlesAt = copy.failure?.at ?? copy.endsAt;
    if (settlesAt > now) {
      snapshot.progress = progressAt(snapshot, now);
      return undefined;
    }
    if (copy.failure) {
      snapshot.state = 'error';
      snapshot.stateMessage = copy.failure.message;
      snapshot.progress = progressAt(snapshot, settlesAt);
    } else {
      snapshot.state = 'completed';
      snapshot.progress = 100;
    }
    snapshot.completionTime = settlesAt;
    return settlesAt;
  }

  /**
   * Makes a registered image available once its registration time has come. In an idle sandbox nobody looks,
   * so a timer (real time, which the virtual clock never lags) looks then, and the event is not held back.
   */
  registerUntil(at: number): void {
    const timer = setTimeout(() => this.refresh(), Math.max(0, at - this.now()) + 1);
    timer.unref();
  }

  private advanceRegistration(image: ImageRecord, now: number): number | undefined {
    if (image.state !== 'pending' || image.registeredAt === undefined || image.registeredAt > now)
      return undefined;
    image.state = 'available';
    return image.registeredAt;
  }

  /** An image copy fails with its first failed snapshot, and is available once all of them completed. */
  private advanceImageCopy(store: RegionStore, image: ImageRecord): number | undefined {
    if (image.state !== 'pending' || !image.copy) return undefined;
    const backing = image.blockDevices.map((device) => ({
      id: device.snapshotId,
      snapshot: store.snapshots.get(device.snapshotId),
    }));
    const missing = backing.find(({ snapshot }) => !snapshot);
    const failed = backing.find(({ snapshot }) => snapshot?.state === 'error')?.snapshot;
    if (missing || failed) {
      image.state = 'failed';
      image.stateReason = {
        code: failed?.copy?.failure?.code ?? 'Server.InternalError',
        message: `AMI snapshot copy failed with error: ${failed?.stateMessage ?? `snapshot ${missing?.id} was deleted`}`,
      };
      return failed?.completionTime ?? this.now();
    }
    if (!backing.every(({ snapshot }) => snapshot?.state === 'completed')) return undefined;
    image.state = 'available';
    return Math.max(...backing.map(({ snapshot }) => snapshot?.completionTime ?? 0));
  }
}
