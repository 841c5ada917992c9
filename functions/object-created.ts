import { createObjectCreatedHandler } from '#handlers/object-created';
import { runtimeFromEnvironment } from '#runtime';

const { tools, deps } = runtimeFromEnvironment();

export const handler = createObjectCreatedHandler(tools, deps);
