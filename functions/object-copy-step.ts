import { createObjectCopyStepHandler } from '#handlers/object-copy-step';
import { runtimeFromEnvironment } from '#runtime';

const { tools, copyStepDeps } = runtimeFromEnvironment();

export const handler = createObjectCopyStepHandler(tools, copyStepDeps);
