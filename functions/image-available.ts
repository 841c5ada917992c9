import { imageAvailableHandlerFromEnvironment } from '#ec2/handlers/image-available';

/** Lambda's entry: the rules are loaded and the clients made once, at init. */
export const handler = imageAvailableHandlerFromEnvironment();
