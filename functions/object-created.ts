import { createObjectCreatedHandler } from '#handlers/object-created';
import { objectRuntimeFromEnvironment } from '#runtime/objects';

const { tools, deps } = objectRuntimeFromEnvironment();

export const handler = createObjectCreatedHandler(tools, deps);
