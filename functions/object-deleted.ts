import { objectDeletedHandlerFromEnvironment } from '#objects/handlers/object-deleted';

/** Lambda's entry: the rules are loaded and the clients made once, at init. */
export const handler = objectDeletedHandlerFromEnvironment();
