import { createRpoMonitorHandler } from '#handlers/rpo-monitor';
import { rpoMonitorRuntimeFromEnvironment } from '#runtime/rpo';

const { tools, deps } = rpoMonitorRuntimeFromEnvironment();

export const handler = createRpoMonitorHandler(tools, deps);
