import { ec2CopySweepHandlerFromEnvironment } from '#ec2/handlers/ec2-copy-sweep';

/** Lambda's entry: the table, Step Functions and EC2 clients are made once, at init. */
export const handler = ec2CopySweepHandlerFromEnvironment();
