/**
 * One reconcile's working copy of a status: transitions change it and record their decision, so the
 * controller reads as a list of rules. Never touches the input status; `result()` reports whether
 * anything changed, and when nothing did, hands back the original object (timestamps included).
 */
import { setCondition } from './conditions.js';
import type { Decision, DecisionEvent, Phase, Reason, ReconcileResult, RolloutStatus } from './types.js';

export class Draft {
  #status: RolloutStatus;
  readonly #original: RolloutStatus;
  readonly #decisions: Decision[] = [];
  readonly now: number;

  constructor(status: RolloutStatus, now: number) {
    this.#original = status;
    this.#status = status;
    this.now = now;
  }

  get status(): RolloutStatus {
    return this.#status;
  }

  get isFinished(): boolean {
    return this.#status.phase !== 'deploying' && this.#status.phase !== 'paused';
  }

  /** Ends the rollout: completed gives the new version everything, the others give it nothing. */
  finish(phase: Extract<Phase, 'completed' | 'rolled_back' | 'aborted'>, reason: Reason, message: string, numbers: Record<string, number> = {}): void {
    const percentage = phase === 'completed' ? 100 : 0;
    let conditions = setCondition(this.#status.conditions, { type: 'Progressing', status: false, reason, message }, this.now).conditions;
    if (conditions.some((c) => c.type === 'Paused' && c.status)) {
      conditions = setCondition(conditions, { type: 'Paused', status: false, reason, message }, this.now).conditions;
    }
    this.#patch({ phase, currentPercentage: percentage, conditions, finishedAt: this.now });
    this.#record(phase, reason, message, numbers);
  }

  pause(reason: Reason, message: string, numbers: Record<string, number> = {}): void {
    if (this.#status.phase !== 'deploying') return;
    const { conditions } = setCondition(this.#status.conditions, { type: 'Paused', status: true, reason, message }, this.now);
    this.#patch({ phase: 'paused', conditions });
    this.#record('paused', reason, message, numbers);
  }

  /** Back to deploying with a fresh measurement window, so the step is judged on what happens next. */
  resume(reason: Reason, message: string, baseline: RolloutStatus['stepBaseline']): void {
    if (this.#status.phase !== 'paused') return;
    const { conditions } = setCondition(this.#status.conditions, { type: 'Paused', status: false, reason, message }, this.now);
    this.#patch({ phase: 'deploying', conditions, stepStartedAt: this.now, stepBaseline: baseline });
    this.#record('resumed', reason, message, {});
  }

  /** The first decision of every log: step 0 of a new deployment. */
  start(reason: Reason, message: string, numbers: Record<string, number>): void {
    const { conditions } = setCondition(this.#status.conditions, { type: 'Progressing', status: true, reason, message }, this.now);
    this.#patch({ conditions });
    this.#record('started', reason, message, numbers);
  }

  /** Moves to step `index` at `percentage`; its window starts now from `baseline`. */
  advance(index: number, percentage: number, reason: Reason, message: string, baseline: RolloutStatus['stepBaseline'], numbers: Record<string, number>): void {
    const { conditions } = setCondition(this.#status.conditions, { type: 'Progressing', status: true, reason, message }, this.now);
    this.#patch({ stepIndex: index, currentPercentage: percentage, stepStartedAt: this.now, stepBaseline: baseline, conditions });
    this.#record('advanced', reason, message, numbers);
  }

  /** Notes why the step holds; the same reason as last time is not news and records nothing. */
  wait(reason: Reason, message: string, numbers: Record<string, number>): void {
    const { conditions, changed } = setCondition(this.#status.conditions, { type: 'Progressing', status: true, reason, message }, this.now);
    if (!changed) return;
    this.#patch({ conditions });
    this.#record('waiting', reason, message, numbers);
  }

  result(): ReconcileResult {
    if (this.#decisions.length === 0) return { status: this.#original, decisions: [], changed: false };
    return { status: { ...this.#status, updatedAt: this.now }, decisions: this.#decisions, changed: true };
  }

  #patch(p: Partial<RolloutStatus>): void {
    this.#status = { ...this.#status, ...p };
  }

  #record(event: DecisionEvent, reason: Reason, message: string, numbers: Record<string, number>): void {
    this.#decisions.push({ event, reason, message, percentage: this.#status.currentPercentage, numbers, at: this.now });
  }
}
