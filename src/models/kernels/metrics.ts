/**
 * Evaluation figures shared by trainers, the evaluate endpoint and benchmarks. Small and dependency-free:
 * Spearman's rank correlation (ties get their average rank, as scipy.stats.spearmanr does) and recall@1
 * of a retrieval over unit vectors. Everything sums in float64 so the figures do not depend on the order
 * the caller's arrays came in beyond the ranks themselves.
 */

/** 1-based ranks of `values`; tied values share the mean of the ranks they span ("average" method). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Pearson's correlation; NaN when fewer than two values or when either side is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new RangeError(`pearson needs equal lengths, got ${x.length} and ${y.length}`);
  const n = x.length;
  if (n < 2) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i] - mx;
    const b = y[i] - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

/** Spearman's rank correlation with average ranks for ties; NaN when undefined (see pearson). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new RangeError(`spearman needs equal lengths, got ${x.length} and ${y.length}`);
  if (Array.from(x).some(Number.isNaN) || Array.from(y).some(Number.isNaN)) return NaN;
  return pearson(averageRanks(x), averageRanks(y));
}

/**
 * Recall@1 of retrieving candidate i for query i among `n` candidates: the fraction of queries whose
 * highest dot product is with their own candidate. `queries` and `candidates` are [n, dim] row-major
 * (unit vectors make the dot product the cosine). A tie with another candidate counts as a miss, so a
 * collapsed encoder that maps everything to one vector scores 0, not 1. NaN when n is 0.
 * `candidateIds` (optional) names each candidate's text: a candidate with the same id as the query's own
 * is the very same text, not a competitor, and is skipped.
 */
export function recallAtOne(queries: ArrayLike<number>, candidates: ArrayLike<number>, n: number, dim: number, candidateIds?: ArrayLike<number>): number {
  if (queries.length < n * dim || candidates.length < n * dim) throw new RangeError(`recallAtOne needs ${n}×${dim} values on each side`);
  if (n === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const q = i * dim;
    const own = dot(queries, q, candidates, q, dim);
    let best = true;
    for (let j = 0; j < n && best; j++) {
      if (j !== i && (candidateIds === undefined || candidateIds[j] !== candidateIds[i]) && dot(queries, q, candidates, j * dim, dim) >= own) best = false;
    }
    if (best) hits++;
  }
  return hits / n;
}

function dot(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += a[ao + d] * b[bo + d];
  return s;
}

/** Precision, recall and F1 of one class, and how many examples truly had it. */
export interface ClassFigures {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationFigures {
  n: number;
  accuracy: number;
  per_class: Record<string, ClassFigures>;
  /** Rows are the true label, columns the predicted one (scikit-learn's convention), both in `labels` order. */
  confusion: { labels: string[]; matrix: number[][] };
}

/**
 * Accuracy, per-class figures and the confusion matrix of `predicted` against `truth`. Labels are every
 * label seen on either side, sorted, so a class the model invents still shows up as a column. A ratio
 * with a zero denominator is 0 (scikit-learn's `zero_division=0`): JSON has no NaN, and a class never
 * predicted has, for a reader, no precision worth claiming.
 */
export function classificationFigures(truth: readonly string[], predicted: readonly string[]): ClassificationFigures {
  if (truth.length !== predicted.length) throw new RangeError(`classificationFigures needs equal lengths, got ${truth.length} and ${predicted.length}`);
  const labels = [...new Set([...truth, ...predicted])].sort();
  const at = new Map(labels.map((l, i) => [l, i]));
  const matrix = labels.map(() => new Array<number>(labels.length).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    matrix[at.get(truth[i])!][at.get(predicted[i])!]++;
    if (truth[i] === predicted[i]) correct++;
  }
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
  // fromEntries defines own properties, so a label such as "__proto__" stays a label.
  const per_class: Record<string, ClassFigures> = Object.fromEntries(
    labels.map((label, k) => {
      const tp = matrix[k][k];
      const support = matrix[k].reduce((s, x) => s + x, 0);
      const predictedAs = matrix.reduce((s, row) => s + row[k], 0);
      const precision = ratio(tp, predictedAs);
      const recall = ratio(tp, support);
      return [label, { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support }];
    }),
  );
  return { n: truth.length, accuracy: ratio(correct, truth.length), per_class, confusion: { labels, matrix } };
}
