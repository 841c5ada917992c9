import { objectCopyStepHandlerFromEnvironment } from '#objects/handlers/object-copy-step';

/** Lambda's entry: the rules are loaded and the clients made once, at init. */
export const handler = objectCopyStepHandlerFromEnvironment();
