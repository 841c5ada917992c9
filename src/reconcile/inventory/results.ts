import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { mergeReports, type ReconcileReport, type RuleReport } from '../report.ts';
import { ChildResultSchema, JoinBatchSchema, MapOutputSchema, ResultManifestSchema } from './contract.ts';

/** The join children's own result: one report per rule of the batch (join-step.ts). */
const JoinResultSchema = z.object({
  rules: z.array(z.custom<RuleReport>((value) => typeof value === 'object')),
});

async function readJson(client: S3Client, bucket: string, key: string): Promise<unknown> {
  const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse((await answer.Body?.transformToString('utf8')) ?? '');
}

/**
 * The run's report per rule, from the join map's ResultWriter export (its output names the manifest): the
 * SUCCEEDED files' outputs added up (mergeReports), and each shard in a FAILED file a failure of its rule,
 * under the child's error and cause. PENDING files (a run stopped) are shards not judged: also failures.
 */
export async function reportFromResults(client: S3Client, mapOutput: unknown): Promise<ReconcileReport> {
  const { ResultWriterDetails } = MapOutputSchema.parse(mapOutput);
  const manifest = ResultManifestSchema.parse(
    await readJson(client, ResultWriterDetails.Bucket, ResultWriterDetails.Key),
  );
  const reports: ReconcileReport[] = [];
  const failures: RuleReport[] = [];
  for (const [status, files] of Object.entries(manifest.ResultFiles)) {
    for (const file of files) {
      const children = z
        .array(ChildResultSchema)
        .parse(await readJson(client, manifest.DestinationBucket, file.Key));
      for (const child of children) {
        if (status === 'SUCCEEDED') {
          reports.push({
            rules: JoinResultSchema.parse(JSON.parse(child.Output ?? '{}')).rules,
            next: undefined,
          });
          continue;
        }
        const batch = JoinBatchSchema.safeParse(JSON.parse(child.Input ?? 'null'));
        const cause = `${child.Error ?? status}: ${child.Cause ?? ''}`.trim();
        for (const item of batch.success ? batch.data.Items : [{ rule: '(unknown)', shard: -1 }])
          failures.push({
            rule: item.rule,
            kind: 'objects',
            scanned: 0,
            missing: 0,
            stale: 0,
            sent: 0,
            skipped: 0,
            failed: [{ item: `shard ${item.shard} of rule ${item.rule} (${status.toLowerCase()})`, cause }],
          });
      }
    }
  }
  return mergeReports([...reports, { rules: failures, next: undefined }]);
}
