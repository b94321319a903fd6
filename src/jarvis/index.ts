/** Public surface of the JARVIS service. */
export { Jarvis, type JarvisOptions } from './jarvis-service.js';
export { assembleCoordinator, type CoordinatorParts } from './assemble.js';
export { JarvisState, SERVICE_NAME, type JarvisStatus } from './jarvis-state.js';
