/** What a training start checks of its data, counted as the data goes by: it is never all in memory. */
import type { ModelType } from '../model-types.js';
import type { Dataset } from './training-types.js';

export class DatasetTally {
  train = 0;
  validation = 0;
  /** The first two distinct labels of the train split: enough to tell a classifier it has one class. */
  readonly labels = new Set<unknown>();

  add(page: Dataset): void {
    this.train += page.train.length;
    this.validation += page.validation.length;
    for (let i = 0; i < page.train.length && this.labels.size < 2; i++) this.labels.add(page.train[i].label);
  }

  /** Whether a job of `modelType` can learn from it: examples to train on and, for a classifier, two classes. */
  trainableFor(modelType: ModelType): boolean {
    return this.train > 0 && (modelType === 'embedding' || this.labels.size >= 2);
  }

  static of(dataset: Dataset): DatasetTally {
    const t = new DatasetTally();
    t.add(dataset);
    return t;
  }

  /** As plain values (a thread's answer). */
  toJSON(): DatasetCounts {
    return { train: this.train, validation: this.validation, labels: [...this.labels] };
  }

  static fromJSON(c: DatasetCounts): DatasetTally {
    const t = new DatasetTally();
    t.train = c.train;
    t.validation = c.validation;
    for (const l of c.labels) t.labels.add(l);
    return t;
  }
}

export interface DatasetCounts {
  train: number;
  validation: number;
  labels: unknown[];
}

/** The pages of `source`, each counted into `tally` as it is read. */
export async function* tallied(source: AsyncIterable<Dataset>, tally: DatasetTally): AsyncGenerator<Dataset> {
  for await (const page of source) {
    tally.add(page);
    yield page;
  }
}
