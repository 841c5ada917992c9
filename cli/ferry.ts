import { runFerry } from './command-line.ts';

/** The `ferry` command (`npm run ferry -- …`); cli/command-line.ts reads the command line. */
try {
  const result = await runFerry(process.argv.slice(2));
  (result.exitCode === 0 ? console.log : console.error)(result.lines.join('\n'));
  process.exitCode = result.exitCode;
} catch (error) {
  console.error(`ferry: ${(error as Error).message}`);
  process.exitCode = 2;
}
