import { createSnapshotCreatedHandler } from '#handlers/snapshot-created';
import { snapshotRuntimeFromEnvironment } from '#runtime/ec2';

const { tools, deps } = snapshotRuntimeFromEnvironment();

export const handler = createSnapshotCreatedHandler(tools, deps);
