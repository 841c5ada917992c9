/**
 * Per-key locks that give the sandbox's writes S3's atomicity. S3 applies each write to a key whole and in
 * one order: a conditional write or copy is checked against exactly the object it replaces or reads, and
 * the events' sequencers follow the order in which writes took effect. The sandbox builds one S3 request
 * from several requests to s3rver (the conditions, the bytes, the tags, a HEAD for the event), so without
 * these a copy could pass `x-amz-copy-source-if-match` on one version and copy the next, or an earlier
 * write's event could carry a later write's ETag and sequencer.
 *
 * A write holds its key exclusively; a copy reads its source shared (part copies of one source run side by
 * side, as in S3) and holds its destination exclusively.
 */

export type LockMode = 'read' | 'write';

export interface KeyLock {
  bucket: string;
  key: string;
  mode: LockMode;
}

/** A readers–writer lock with first-come order, so a stream of readers cannot starve a writer. */
class ReadWriteLock {
  private readers = 0;
  private writing = false;
  private readonly waiting: { mode: LockMode; grant: () => void }[] = [];

  get idle(): boolean {
    return this.readers === 0 && !this.writing && this.waiting.length === 0;
  }

  acquire(mode: LockMode): Promise<void> {
    return new Promise((grant) => {
      this.waiting.push({ mode, grant });
      this.pump();
    });
  }

  release(mode: LockMode): void {
    if (mode === 'write') this.writing = false;
    else this.readers -= 1;
    this.pump();
  }

  private pump(): void {
    for (let next = this.waiting[0]; next; next = this.waiting[0]) {
      if (next.mode === 'write' ? this.writing || this.readers > 0 : this.writing) return;
      this.waiting.shift();
      if (next.mode === 'write') this.writing = true;
      else this.readers += 1;
      next.grant();
    }
  }
}

export class KeyLocks {
  private readonly locks = new Map<string, ReadWriteLock>();

  /**
   * Runs `work` holding every lock asked for. They are taken in one global order (by bucket and key),
   * so two requests cannot each hold what the other waits for; a key asked for twice is held once, for
   * writing if either asks to write.
   */
  async run<T>(wanted: readonly KeyLock[], work: () => Promise<T>): Promise<T> {
    const modes = new Map<string, LockMode>();
    for (const { bucket, key, mode } of wanted) {
      const id = `${bucket}/${key}`;
      modes.set(id, modes.get(id) === 'write' ? 'write' : mode);
    }
    const ordered = [...modes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const held: [string, ReadWriteLock, LockMode][] = [];
    try {
      for (const [id, mode] of ordered) {
        let lock = this.locks.get(id);
        if (!lock) {
          lock = new ReadWriteLock();
          this.locks.set(id, lock);
        }
        await lock.acquire(mode);
        held.push([id, lock, mode]);
      }
      return await work();
    } finally {
      for (const [id, lock, mode] of held.reverse()) {
        lock.release(mode);
        if (lock.idle) this.locks.delete(id);
      }
    }
  }

  /** One write to one key. */
  write<T>(bucket: string, key: string, work: () => Promise<T>): Promise<T> {
    return this.run([{ bucket, key, mode: 'write' }], work);
  }
}
