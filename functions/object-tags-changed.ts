import { objectTagsChangedHandlerFromEnvironment } from '#objects/handlers/object-tags-changed';

/** Lambda's entry: the rules are loaded and the clients made once, at init. */
export const handler = objectTagsChangedHandlerFromEnvironment();
