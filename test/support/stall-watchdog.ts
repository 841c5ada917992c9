import { Worker } from 'node:worker_threads';

/**
 * A watchdog for a test process whose event loop stops turning. A test that awaits forever is caught by
 * vitest's own timeouts, but one that blocks the thread (a synchronous loop, a chain of already-resolved
 * promises, a synchronous call that never returns) stops those timers too, and the run hangs until CI
 * kills it, with nothing printed. A worker thread watches a heartbeat the test thread writes; when the
 * beat stops for `limitMs`, it prints the test that was running and the test thread's JavaScript stack,
 * then kills the process, so vitest reports the file as failed and goes on.
 */

const NAME_BYTES = 1024;

export interface StallWatchdog {
  /** Names the test now running, for the message. */
  running(name: string): void;
  stop(): void;
}

export interface StallWatchdogOptions {
  limitMs: number;
  /** How often the test thread beats, and the watchdog looks. */
  beatMs?: number;
}

// Plain JavaScript: a worker thread does not go through vitest's transform. It writes with writeSync on
// fd 2, because process.stderr in a worker thread is relayed by the (stalled) test thread. The stack comes
// from the inspector: Debugger.pause interrupts JavaScript that never yields, which no signal handler or
// timer of the test thread's own could do.
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { Session } = require('node:inspector');
const { beat, name, limitMs, beatMs } = workerData;
const say = (text) => writeSync(2, text + '\\n');
const kill = () => process.kill(process.pid, 'SIGKILL');
/** Script URLs by id: a frame's own url is empty for modules vitest evaluates itself. */
const scripts = new Map();
const frameOf = (frame) =>
  (frame.functionName || '(anonymous)') + ' (' + (frame.url || scripts.get(frame.location.scriptId) || '?') +
  ':' + (frame.location.lineNumber + 1) + ':' + (frame.location.columnNumber + 1) + ')';

function report(still) {
  const test = new TextDecoder().decode(name.slice(0, Atomics.load(beat, 1)));
  say('');
  say('[stall watchdog] the test thread has not turned its event loop for ' + Math.round(still / 1000) + ' s');
  say('[stall watchdog] in: ' + test);
  const session = new Session();
  session.connectToMainThread();
  const giveUp = setTimeout(() => {
    say('[stall watchdog] no JavaScript stack: the thread is blocked outside JavaScript (a synchronous call or native code)');
    kill();
  }, 5000);
  session.on('Debugger.scriptParsed', ({ params }) => {
    if (params.url) scripts.set(params.scriptId, params.url);
  });
  session.on('Debugger.paused', ({ params }) => {
    clearTimeout(giveUp);
    const frames = params.callFrames.slice(0, 30).map(frameOf);
    say('[stall watchdog] JavaScript stack (the test files are transformed: lines are approximate):\\n  ' + frames.join('\\n  '));
    kill();
  });
  session.post('Debugger.enable', () => session.post('Debugger.pause'));
}

let last = Atomics.load(beat, 0);
let still = 0;
const watch = setInterval(() => {
  const now = Atomics.load(beat, 0);
  if (now === -1) return clearInterval(watch);
  if (now !== last) {
    last = now;
    still = 0;
    return;
  }
  still += beatMs;
  if (still >= limitMs) {
    clearInterval(watch);
    report(still);
  }
}, beatMs);
`;

export function startStallWatchdog({ limitMs, beatMs = 1000 }: StallWatchdogOptions): StallWatchdog {
  const beat = new Int32Array(new SharedArrayBuffer(8));
  const name = new Uint8Array(new SharedArrayBuffer(NAME_BYTES));
  const heartbeat = setInterval(() => Atomics.add(beat, 0, 1), beatMs);
  heartbeat.unref();
  const watchdog = new Worker(WATCHDOG_SOURCE, {
    eval: true,
    workerData: { beat, name, limitMs, beatMs },
  });
  watchdog.unref();

  const encoder = new TextEncoder();
  return {
    running(test) {
      const { written } = encoder.encodeInto(test, name);
      Atomics.store(beat, 1, written);
    },
    stop() {
      clearInterval(heartbeat);
      Atomics.store(beat, 0, -1);
    },
  };
}
