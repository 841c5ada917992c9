import { readdirSync, readFileSync } from 'node:fs';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { CopyWaitersTableMissingError } from '#ec2/errors';
import { ec2CopyCompletedRuntimeFromEnvironment } from '#ec2/handlers/ec2-copy-completed';
import { ec2CopyStepRuntimeFromEnvironment } from '#ec2/handlers/ec2-copy-step';
import { ec2CopySweepRuntimeFromEnvironment } from '#ec2/handlers/ec2-copy-sweep';
import { imageRuntimeFromEnvironment } from '#ec2/handlers/image-available';
import { snapshotRuntimeFromEnvironment } from '#ec2/handlers/snapshot-created';
import type { CopyJob } from '#objects/copy-machine/contract';
import { objectCopyStepRuntimeFromEnvironment } from '#objects/handlers/object-copy-step';
import { objectRuntimeFromEnvironment } from '#objects/handlers/wiring';
import { reconcileRuntimeFromEnvironment } from '#reconcile/handler';
import { InvalidConfigError, loadConfigFile } from '#rules/load';
import { snapshotCopyJob } from '#test/support/ec2-jobs';
import { compiledRulesOf } from '#test/support/fixtures';
import { createRuntime } from '#wiring';

/** The Lambda environment of the deployed functions, with every state machine named. */
const RULES = compiledRulesOf('replication.yml');
const DEPLOYED = {
  FERRY_CONFIG: RULES,
  FERRY_OBJECT_COPY_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:111122223333:stateMachine:ferry-object-copy',
  FERRY_SNAPSHOT_COPY_STATE_MACHINE_ARN:
    'arn:aws:states:us-east-1:111122223333:stateMachine:ferry-snapshot-copy',
  FERRY_IMAGE_COPY_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:111122223333:stateMachine:ferry-image-copy',
  // serverless.yml names the copy-waiters table to ec2CopyStep and ec2CopyCompleted.
  FERRY_COPY_WAITERS_TABLE: 'ferry-dev-copy-waiters',
};
const RULES_ONLY = { FERRY_CONFIG: RULES };
const SOURCE = { region: 'us-east-1', account: '111122223333' };
const ruleNames = (rules: readonly { name: string }[]) => rules.map((rule) => rule.name);

describe('Each function’s own wiring (src/*/handlers/, src/reconcile/handler.ts)', () => {
  it('It should give objectCreated and objectDeleted the object rules, and the object-copy machine when named', () => {
    const { deps } = objectRuntimeFromEnvironment(DEPLOYED);
    expect(ruleNames(deps.rules)).toEqual(['invoices-to-dr', 'media-to-partner']);
    expect(deps.copies).toBeDefined();
    // Without the machine, large objects go back to Lambda's retries (the object handlers' contract).
    expect(objectRuntimeFromEnvironment(RULES_ONLY).deps.copies).toBeUndefined();
  });

  it('It should give objectCopyStep the part settings of the rules file', () => {
    const { deps } = objectCopyStepRuntimeFromEnvironment(RULES_ONLY);
    // No fixed part size by default: parts are sized from each object (part-planner.ts).
    expect(deps.multipart.partSize).toBeUndefined();
    expect(deps.multipart).toMatchObject({
      minPartSize: 16 * 1024 * 1024,
      partsInFlight: 64,
      partConcurrency: 8,
    });
  });

  it('It should give snapshotCreated and imageAvailable their rules, and fail a copy whose machine is not named', async () => {
    const snapshots = snapshotRuntimeFromEnvironment(RULES_ONLY).deps;
    const images = imageRuntimeFromEnvironment(RULES_ONLY).deps;
    expect(ruleNames(snapshots.rules)).toEqual(['ebs-to-dr']);
    expect(ruleNames(images.rules)).toEqual(['ami-to-dr']);
    const job = {} as Ec2CopyJob;
    await expect(snapshots.copies.start(job)).rejects.toThrow(
      'FERRY_SNAPSHOT_COPY_STATE_MACHINE_ARN is not set',
    );
    await expect(images.copies.start(job)).rejects.toThrow('FERRY_IMAGE_COPY_STATE_MACHINE_ARN is not set');
  });

  it('It should give ec2CopyStep both kinds of copy', () => {
    expect(Object.keys(ec2CopyStepRuntimeFromEnvironment(RULES_ONLY).deps.kinds).sort()).toEqual([
      'image',
      'snapshot',
    ]);
  });

  it('It should give ec2CopyStep and ec2CopyCompleted the copy-waiters table the deployment names, and refuse ec2CopyCompleted without it', () => {
    expect(ec2CopyStepRuntimeFromEnvironment(RULES_ONLY).deps.await).toBeUndefined();
    expect(ec2CopyStepRuntimeFromEnvironment(DEPLOYED).deps.await).toBeDefined();
    expect(ec2CopyCompletedRuntimeFromEnvironment(DEPLOYED).deps.waiters).toBeDefined();
    expect(() => ec2CopyCompletedRuntimeFromEnvironment(RULES_ONLY)).toThrow(CopyWaitersTableMissingError);
    expect(ec2CopySweepRuntimeFromEnvironment(DEPLOYED).deps.listing).toBeDefined();
    expect(() => ec2CopySweepRuntimeFromEnvironment(RULES_ONLY)).toThrow(CopyWaitersTableMissingError);
  });

  it('It should give reconcile every rule, and report large objects when the object-copy machine is not named', async () => {
    const deps = reconcileRuntimeFromEnvironment(RULES_ONLY).reconcileDeps(SOURCE);
    expect(ruleNames(deps.rules)).toEqual(['invoices-to-dr', 'media-to-partner', 'ebs-to-dr', 'ami-to-dr']);
    expect(deps.objects.source).toEqual(SOURCE);
    await expect(deps.objects.copies?.start({} as CopyJob)).rejects.toThrow(
      'FERRY_OBJECT_COPY_STATE_MACHINE_ARN is not set',
    );
    expect(
      reconcileRuntimeFromEnvironment(DEPLOYED).reconcileDeps(SOURCE).ec2.snapshots.copies,
    ).toBeDefined();
  });

  it('It should fail every function’s init on a rules file it cannot load', () => {
    const missing = { FERRY_CONFIG: 'does-not-exist.json' };
    for (const init of [
      objectRuntimeFromEnvironment,
      objectCopyStepRuntimeFromEnvironment,
      snapshotRuntimeFromEnvironment,
      imageRuntimeFromEnvironment,
      ec2CopyStepRuntimeFromEnvironment,
      ec2CopyCompletedRuntimeFromEnvironment,
      reconcileRuntimeFromEnvironment,
    ]) {
      expect(() => init(missing), init.name).toThrow(InvalidConfigError);
    }
  });

  it('It should trace the Step Functions client of every function that starts copies, as it traces S3 and EC2', async () => {
    const traced = vi.spyOn(Tracer.prototype, 'captureAWSv3Client');
    const sfn = mockClient(SFNClient);
    onTestFinished(() => sfn.restore());
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:us-east-1:1:execution:m:x' });
    // Only the fields an execution's name is made of: the starter is under test, not the copy.
    const objectJob = {
      mode: 'single',
      reason: 'SlowDown',
      source: { bucket: 'acme-prod', key: 'a.pdf', etag: 'e' },
      plan: {
        rule: { name: 'r' },
        destination: { bucket: 'acme-dr', region: 'us-west-2' },
        destinationKey: 'a',
      },
    } as unknown as CopyJob;
    const ec2Job = snapshotCopyJob();
    const reconcile = reconcileRuntimeFromEnvironment(DEPLOYED).reconcileDeps(SOURCE);
    const starts = {
      objectCreated: () => objectRuntimeFromEnvironment(DEPLOYED).deps.copies?.start(objectJob),
      snapshotCreated: () => snapshotRuntimeFromEnvironment(DEPLOYED).deps.copies.start(ec2Job),
      imageAvailable: () => imageRuntimeFromEnvironment(DEPLOYED).deps.copies.start(ec2Job),
      'reconcile (objects)': () => reconcile.objects.copies?.start(objectJob),
      'reconcile (snapshots)': () => reconcile.ec2.snapshots.copies.start(ec2Job),
      'reconcile (images)': () => reconcile.ec2.images.copies.start(ec2Job),
    };
    for (const [name, start] of Object.entries(starts)) {
      sfn.resetHistory();
      await start();
      expect(sfn, name).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
      const client = sfn.call(0).thisValue;
      expect(client, name).toBeInstanceOf(SFNClient);
      expect(
        traced.mock.calls.some(([captured]) => captured === client),
        `${name}: traced`,
      ).toBe(true);
    }
  });

  it('It should read the rules as JSON, and say so when given the YAML itself', () => {
    expect(() => objectRuntimeFromEnvironment({ FERRY_CONFIG: 'replication.yml' })).toThrow(
      /replication\.yml is not a valid Ferry configuration:\n {2}\(file\): is not JSON .*npm run package/,
    );
  });
});

describe('Every function wired at once (createRuntime, for the sandbox and the CLI)', () => {
  it('It should share one set of Powertools and one client factory per service between the functions', () => {
    const runtime = createRuntime(loadConfigFile('replication.yml'));
    expect(runtime.copyStepDeps.s3).toBe(runtime.deps.s3);
    expect(runtime.imageDeps.ec2).toBe(runtime.snapshotDeps.ec2);
    expect(runtime.ec2CopyStepDeps.ec2).toBe(runtime.snapshotDeps.ec2);
    expect(runtime.deps.log).toBe(runtime.tools.logger);
    const reconcile = runtime.reconcileDeps(SOURCE);
    expect(reconcile.objects.s3).toBe(runtime.deps.s3);
    expect(reconcile.ec2.images).toBe(runtime.imageDeps);
  });
});

describe('One hop from each Lambda entry to its wiring', () => {
  const entries = readdirSync('functions').filter((file) => file.endsWith('.ts'));

  it('It should have each entry import one handler module and call its wiring, nothing else', () => {
    expect(entries.length).toBeGreaterThanOrEqual(7);
    for (const entry of entries) {
      const text = readFileSync(`functions/${entry}`, 'utf8');
      const imports = [...text.matchAll(/from '([^']+)'/g)].map((match) => match[1]);
      expect(imports, entry).toHaveLength(1);
      expect(imports[0], entry).toMatch(
        /^#(objects|ec2)\/handlers\/[\w-]+$|^#(reconcile|rpo)\/handler$|^#reconcile\/inventory\/handler$/,
      );
      expect(text, entry).toMatch(/^export const handler = \w+HandlerFromEnvironment\(\);$/m);
    }
  });

  it('It should wire every deployed handler from the Lambda environment alone', async () => {
    for (const entry of entries) {
      const text = readFileSync(`functions/${entry}`, 'utf8');
      const [, name, specifier] = /import \{ (\w+) \} from '([^']+)'/.exec(text) ?? [];
      const module = (await import(String(specifier))) as Record<string, (env: NodeJS.ProcessEnv) => unknown>;
      const fromEnvironment = module[String(name)];
      expect(fromEnvironment, entry).toBeTypeOf('function');
      expect(fromEnvironment?.(DEPLOYED), entry).toBeTypeOf('function');
    }
  });
});
