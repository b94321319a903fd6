import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterBook } from '../../src/serving/counters.js';

describe('CounterBook', () => {
  it('shows Prometheus the predictions, errors, feedback and latency recorded since it started', async () => {
    const registry = new Registry();
    const book = new CounterBook(registry);
    const v1 = book.of('nlu', 'v1.0.0');
    v1.recordPrediction(false, 0.00007);
    v1.recordPrediction(false, 0.0003);
    v1.recordPrediction(true, 0.003);
    v1.recordFeedback(true);
    v1.recordFeedback(false);
    v1.recordFeedback(false);
    book.of('nlu', 'v1.1.0').recordPrediction(false, 2);
    expect(book.of('nlu', 'v1.0.0')).toBe(v1);

    const text = await registry.metrics();
    const line = (l: string) => expect(text.split('\n')).toContain(l);
    line('# TYPE trinity_prime_predictions_total counter');
    line('trinity_prime_predictions_total{model_type="nlu",model_version="v1.0.0",outcome="ok"} 2');
    line('trinity_prime_predictions_total{model_type="nlu",model_version="v1.0.0",outcome="error"} 1');
    line('trinity_prime_predictions_total{model_type="nlu",model_version="v1.1.0",outcome="ok"} 1');
    line('trinity_prime_feedback_total{model_type="nlu",model_version="v1.0.0",success="true"} 1');
    line('trinity_prime_feedback_total{model_type="nlu",model_version="v1.0.0",success="false"} 2');
    // Cumulative buckets per type: 70 µs, 300 µs, 3 ms and 2 s.
    line('# TYPE trinity_prime_prediction_seconds histogram');
    line('trinity_prime_prediction_seconds_bucket{model_type="nlu",le="0.00005"} 0');
    line('trinity_prime_prediction_seconds_bucket{model_type="nlu",le="0.0001"} 1');
    line('trinity_prime_prediction_seconds_bucket{model_type="nlu",le="0.0005"} 2');
    line('trinity_prime_prediction_seconds_bucket{model_type="nlu",le="0.005"} 3');
    line('trinity_prime_prediction_seconds_bucket{model_type="nlu",le="0.5"} 3');
    line('trinity_prime_prediction_seconds_bucket{model_type="nlu",le="+Inf"} 4');
    line('trinity_prime_prediction_seconds_count{model_type="nlu"} 4');
    expect(Number(/trinity_prime_prediction_seconds_sum\{model_type="nlu"\} (\S+)/.exec(text)?.[1])).toBeCloseTo(2.00337, 9);

    expect(book.toWire('i', 't').models.nlu?.['v1.0.0']).toEqual({ requests: 3, errors: 1, feedback_success: 1, feedback_failure: 2 });
  });
});
