import { createImageAvailableHandler } from '#handlers/image-available';
import { runtimeFromEnvironment } from '#runtime';

const { tools, imageDeps } = runtimeFromEnvironment();

export const handler = createImageAvailableHandler(tools, imageDeps);
