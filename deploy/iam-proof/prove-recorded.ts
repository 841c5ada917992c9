// npx tsx deploy/iam-proof/prove-recorded.ts <dir>: evaluates every sandbox run recorded under <dir>, e.g.
// after `FERRY_IAM_CALLS_DIR=<dir> npm run demo` or `npm run soak` (each sandbox's stop() writes its run),
// against the policies the package deploys for that run's configuration. Exits 1 when IAM would deny a call.
import { formatMissing } from './evaluate.ts';
import { proveRecordedRuns, readRecordedRuns } from './recorded-runs.ts';

const [dir] = process.argv.slice(2);
if (!dir) {
  console.error('usage: tsx deploy/iam-proof/prove-recorded.ts <dir written with FERRY_IAM_CALLS_DIR>');
  process.exit(2);
}
const verdicts = await proveRecordedRuns(readRecordedRuns(dir));
let missing = 0;
for (const verdict of verdicts) {
  missing += verdict.missing.length;
  console.log(`${verdict.file}: ${verdict.evaluated} authorizations, ${verdict.missing.length} missing`);
  if (verdict.missing.length > 0) console.log(formatMissing(verdict.missing));
}
console.log(`${verdicts.length} run(s), ${missing} missing`);
process.exit(missing > 0 ? 1 : 0);
