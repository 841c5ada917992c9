import { spawnSync } from 'node:child_process';
import { startStallWatchdog } from '#test/support/stall-watchdog';

/**
 * A process for the watchdog's own test: `spin` blocks its thread in a JavaScript loop, `microtasks` in
 * an endless chain of resolved promises, `syscall` in a synchronous child process; `await` waits
 * asynchronously (which is not a stall) and then exits.
 */
const mode = process.argv[2];
const watchdog = startStallWatchdog({ limitMs: 1500, beatMs: 100 });
watchdog.running(`stall-subject › ${mode}`);

function spinsForever(): never {
  for (;;) {
    // Nothing here gives the event loop a turn.
  }
}

async function awaitsForever(): Promise<never> {
  for (;;) await Promise.resolve();
}

if (mode === 'spin') spinsForever();
else if (mode === 'microtasks') await awaitsForever();
else if (mode === 'syscall') spawnSync('sleep', ['20']);
else {
  await new Promise((resolve) => setTimeout(resolve, 3000));
  watchdog.stop();
  console.log('waited 3 s without a stall');
}
