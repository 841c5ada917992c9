import { ec2TagsChangedHandlerFromEnvironment } from '#ec2/handlers/ec2-tags-changed';

/** Lambda's entry: the rules are loaded and the clients made once, at init. */
export const handler = ec2TagsChangedHandlerFromEnvironment();
