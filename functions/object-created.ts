import { objectCreatedHandlerFromEnvironment } from '#objects/handlers/object-created';

/** Lambda's entry: the rules are loaded and the clients made once, at init. */
export const handler = objectCreatedHandlerFromEnvironment();
