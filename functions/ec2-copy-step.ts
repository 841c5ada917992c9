import { ec2CopyStepHandlerFromEnvironment } from '#ec2/handlers/ec2-copy-step';

/** Lambda's entry: the rules are loaded and the clients made once, at init. */
export const handler = ec2CopyStepHandlerFromEnvironment();
