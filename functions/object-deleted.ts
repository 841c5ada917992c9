import { createObjectDeletedHandler } from '#handlers/object-deleted';
import { runtimeFromEnvironment } from '#runtime';

const { tools, deps } = runtimeFromEnvironment();

export const handler = createObjectDeletedHandler(tools, deps);
