import { snapshotCreatedHandlerFromEnvironment } from '#ec2/handlers/snapshot-created';

/** Lambda's entry: the rules are loaded and the clients made once, at init. */
export const handler = snapshotCreatedHandlerFromEnvironment();
