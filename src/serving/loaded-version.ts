/**
 * A loaded, verified and warmed version. Routing tables hold these; a request takes a reference for as
 * long as it uses the predictor, so a version retired by a swap is disposed only once the last request
 * that started on it has finished.
 */
import type { ModelType } from '../model-types.js';
import type { Predictor } from '../models/index.js';
import type { VersionCounters } from './counters.js';

export class LoadedVersion {
  private refs = 0;
  private retired = false;
  private disposed = false;

  constructor(
    readonly modelType: ModelType,
    readonly version: string,
    readonly digest: string,
    readonly predictor: Predictor,
    readonly counters: VersionCounters,
  ) {}

  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.retired && this.refs === 0) this.dispose();
  }

  /** No new request will reach this version; free it now or when the last one in flight releases it. */
  retire(): void {
    this.retired = true;
    if (this.refs === 0) this.dispose();
  }

  get inUse(): number {
    return this.refs;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.predictor.dispose();
  }
}
