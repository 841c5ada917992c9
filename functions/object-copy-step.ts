import { createObjectCopyStepHandler } from '#handlers/object-copy-step';
import { objectCopyStepRuntimeFromEnvironment } from '#runtime/objects';

const { tools, deps } = objectCopyStepRuntimeFromEnvironment();

export const handler = createObjectCopyStepHandler(tools, deps);
