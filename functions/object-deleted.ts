import { createObjectDeletedHandler } from '#handlers/object-deleted';
import { objectRuntimeFromEnvironment } from '#runtime/objects';

const { tools, deps } = objectRuntimeFromEnvironment();

export const handler = createObjectDeletedHandler(tools, deps);
