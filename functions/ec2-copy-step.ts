import { createEc2CopyStepHandler } from '#handlers/ec2-copy-step';
import { runtimeFromEnvironment } from '#runtime';

const { tools, ec2CopyStepDeps } = runtimeFromEnvironment();

export const handler = createEc2CopyStepHandler(tools, ec2CopyStepDeps);
