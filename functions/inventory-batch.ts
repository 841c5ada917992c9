import { inventoryBatchHandlerFromEnvironment } from '#reconcile/inventory/handler';

/** Lambda's entry: the rules are loaded and the clients made once, at init. */
export const handler = inventoryBatchHandlerFromEnvironment();
