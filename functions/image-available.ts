import { createImageAvailableHandler } from '#handlers/image-available';
import { imageRuntimeFromEnvironment } from '#runtime/ec2';

const { tools, deps } = imageRuntimeFromEnvironment();

export const handler = createImageAvailableHandler(tools, deps);
