/**
 * Conditions as argo-rollouts keeps them (utils/conditions/conditions.go): setting a condition with the
 * status and reason it already has changes nothing, not even its message or timestamps, so a controller
 * that re-derives the same state every tick writes nothing and its clock never churns the status.
 */
import type { Condition, ConditionType, Reason } from './types.js';

export interface ConditionInput {
  type: ConditionType;
  status: boolean;
  reason: Reason;
  message: string;
}

export function getCondition(conditions: readonly Condition[], type: ConditionType): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

/**
 * Returns the conditions with `input` applied and whether anything changed. `lastTransitionAt` moves only
 * when the status flips; `lastUpdateAt` whenever status or reason changes.
 */
export function setCondition(conditions: readonly Condition[], input: ConditionInput, now: number): { conditions: Condition[]; changed: boolean } {
  const current = getCondition(conditions, input.type);
  if (current && current.status === input.status && current.reason === input.reason) return { conditions: [...conditions], changed: false };
  const next: Condition = {
    ...input,
    lastTransitionAt: current && current.status === input.status ? current.lastTransitionAt : now,
    lastUpdateAt: now,
  };
  const rest = conditions.filter((c) => c.type !== input.type);
  return { conditions: [...rest, next], changed: true };
}
