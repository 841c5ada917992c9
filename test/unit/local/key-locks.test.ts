import { describe, expect, it } from 'vitest';
import { KeyLocks } from '#local/key-locks';

/** A piece of work that records when it starts and ends, and ends when told to. */
function step(log: string[], name: string) {
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    finish: () => finish(),
    work: async () => {
      log.push(`${name} starts`);
      await done;
      log.push(`${name} ends`);
    },
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A shared hold on b/k, as a copy takes on its source. */
const read = (locks: KeyLocks, work: () => Promise<void>) =>
  locks.run([{ bucket: 'b', key: 'k', mode: 'read' }], work);

describe('KeyLocks', () => {
  it('runs writes to one key one at a time, in the order they came', async () => {
    const locks = new KeyLocks();
    const log: string[] = [];
    const [a, b] = [step(log, 'a'), step(log, 'b')];
    const runs = [locks.write('bucket', 'key', a.work), locks.write('bucket', 'key', b.work)];
    await turn();
    expect(log).toEqual(['a starts']);
    a.finish();
    await turn();
    expect(log).toEqual(['a starts', 'a ends', 'b starts']);
    b.finish();
    await Promise.all(runs);
  });

  it('lets reads of one key share it, and holds a write until they end', async () => {
    const locks = new KeyLocks();
    const log: string[] = [];
    const [r1, r2, w] = [step(log, 'r1'), step(log, 'r2'), step(log, 'w')];
    const runs = [read(locks, r1.work), read(locks, r2.work), locks.write('b', 'k', w.work)];
    await turn();
    expect(log).toEqual(['r1 starts', 'r2 starts']);
    r1.finish();
    await turn();
    expect(log).not.toContain('w starts');
    r2.finish();
    await turn();
    expect(log.at(-1)).toBe('w starts');
    w.finish();
    await Promise.all(runs);
  });

  it('keeps a read that comes after a waiting write behind it, so writes are not starved', async () => {
    const locks = new KeyLocks();
    const log: string[] = [];
    const [r1, w, r2] = [step(log, 'r1'), step(log, 'w'), step(log, 'r2')];
    const runs = [read(locks, r1.work), locks.write('b', 'k', w.work), read(locks, r2.work)];
    await turn();
    expect(log).toEqual(['r1 starts']);
    r1.finish();
    await turn();
    expect(log).toEqual(['r1 starts', 'r1 ends', 'w starts']);
    w.finish();
    r2.finish();
    await Promise.all(runs);
    expect(log.at(-1)).toBe('r2 ends');
  });

  it('takes several keys in one order, so requests asking for them in opposite orders both finish', async () => {
    const locks = new KeyLocks();
    let finished = 0;
    const both = (first: string, second: string) =>
      locks.run(
        [
          { bucket: 'b', key: first, mode: 'write' },
          { bucket: 'b', key: second, mode: 'write' },
        ],
        async () => {
          await turn();
          finished += 1;
        },
      );
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? both('x', 'y') : both('y', 'x'))));
    expect(finished).toBe(20);
  });

  it('releases the lock when the work fails, and holds a key asked for twice once, for writing', async () => {
    const locks = new KeyLocks();
    await expect(
      locks.write('b', 'k', async () => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    const log: string[] = [];
    const [copy, write] = [step(log, 'copy'), step(log, 'write')];
    const sameKey = locks.run(
      [
        { bucket: 'b', key: 'k', mode: 'read' },
        { bucket: 'b', key: 'k', mode: 'write' },
      ],
      copy.work,
    );
    const after = locks.write('b', 'k', write.work);
    await turn();
    expect(log).toEqual(['copy starts']);
    copy.finish();
    write.finish();
    await Promise.all([sameKey, after]);
    expect(log).toEqual(['copy starts', 'copy ends', 'write starts', 'write ends']);
  });
});
