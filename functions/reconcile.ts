import { createReconcileHandler } from '#handlers/reconcile';
import { runtimeFromEnvironment } from '#runtime';

const { tools, reconcileDeps } = runtimeFromEnvironment();

export const handler = createReconcileHandler(tools, reconcileDeps, process.env.AWS_REGION ?? 'us-east-1');
