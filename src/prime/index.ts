/** J-Prime's public surface: the assembled service, its state and the reconcile pull. */
export { Prime, type PrimeOptions } from './prime-service.js';
export { PrimeState, SERVICE_NAME, type PrimeFacts, type PrimeStatus } from './prime-state.js';
export { Reconciler, RECONCILE_TIMEOUT_MS, specFromListing, type ReconcilerOptions } from './reconciler.js';
