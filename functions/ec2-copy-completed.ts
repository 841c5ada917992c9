import { ec2CopyCompletedHandlerFromEnvironment } from '#ec2/handlers/ec2-copy-completed';

/** Lambda's entry: the table and Step Functions clients are made once, at init. */
export const handler = ec2CopyCompletedHandlerFromEnvironment();
