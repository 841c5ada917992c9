import { createEc2CopyStepHandler } from '#handlers/ec2-copy-step';
import { ec2CopyStepRuntimeFromEnvironment } from '#runtime/ec2';

const { tools, deps } = ec2CopyStepRuntimeFromEnvironment();

export const handler = createEc2CopyStepHandler(tools, deps);
