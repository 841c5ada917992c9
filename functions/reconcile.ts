import { createReconcileHandler } from '#handlers/reconcile';
import { reconcileRuntimeFromEnvironment } from '#runtime/reconcile';

const { tools, reconcileDeps } = reconcileRuntimeFromEnvironment();

export const handler = createReconcileHandler(tools, reconcileDeps, process.env.AWS_REGION ?? 'us-east-1');
