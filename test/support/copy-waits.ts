import type { CopyWaiter, CopyWaiters } from '#ec2/copy-machine/copy-waiters';
import type { SlotWaiter, SlotWaiters } from '#ec2/copy-machine/slot-queue';

/** The slot queues' contract (oldest first, a conditional delete, a claim once), in memory. */
export function memorySlots(): SlotWaiters & { items: Map<string, SlotWaiter>; claimed: Set<string> } {
  const items = new Map<string, SlotWaiter>();
  const claimed = new Set<string>();
  return {
    items,
    claimed,
    put: async (waiter) => void items.set(waiter.key, waiter),
    oldest: async (queue, limit) =>
      [...items.values()]
        .filter((waiter) => waiter.queue === queue)
        .sort((a, b) => a.queuedAt - b.queuedAt)
        .slice(0, limit),
    ahead: async (queue, queuedAt, atMost) =>
      Math.min(
        atMost,
        [...items.values()].filter((waiter) => waiter.queue === queue && waiter.queuedAt < queuedAt).length,
      ),
    remove: async (key, token) => items.get(key)?.taskToken === token && items.delete(key),
    claim: async (freed) => !claimed.has(freed) && Boolean(claimed.add(freed)),
    release: async (freed) => void claimed.delete(freed),
  };
}

/** The waiter table's contract (a key, a token, a conditional delete), in memory. */
export function memoryWaiters(): CopyWaiters & { items: Map<string, CopyWaiter> } {
  const items = new Map<string, CopyWaiter>();
  return {
    items,
    put: async (waiter) => void items.set(waiter.key, waiter),
    get: async (key) => items.get(key),
    remove: async (key, token) => items.get(key)?.taskToken === token && items.delete(key),
  };
}
