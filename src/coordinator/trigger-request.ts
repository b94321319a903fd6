/**
 * `POST /api/training/trigger` (CONTRACT §5): `{model_type, priority?, epochs?}` checked once; each
 * problem is a 400 naming the field and what it got. A priority is a name (any case) or its number.
 * `epochs` is checked by the model type's own rules, the very check reactor's start makes, so a job
 * reactor would refuse is refused here instead of failing after it waited in the queue.
 */
import { z } from 'zod';
import { CoordinatorInvalidPriority, CoordinatorInvalidRequest, CoordinatorUnknownModelType } from '../errors.js';
import { MODEL_TYPES, isModelType, type ModelType } from '../model-types.js';
import { describeJobOptionProblem, findJobOptionProblem } from '../training/job-options.js';
import { DEFAULT_PRIORITY, PRIORITIES, type PriorityName } from './types.js';

export interface TriggerRequest {
  modelType: ModelType;
  priority: number;
  /** Absent: reactor's default. */
  epochs: number | null;
}

const schema = z.object({
  model_type: z.string({ error: 'is required and must be a string' }),
  priority: z.union([z.string(), z.number()]).nullish(),
  epochs: z.unknown().optional(),
});

export function parsePriority(v: string | number): number {
  if (typeof v === 'number') {
    if (Object.values(PRIORITIES).includes(v as 0 | 1 | 2 | 3)) return v;
    throw CoordinatorInvalidPriority(v);
  }
  const name = v.trim().toUpperCase();
  if (Object.hasOwn(PRIORITIES, name)) return PRIORITIES[name as PriorityName];
  throw CoordinatorInvalidPriority(v);
}

export function priorityName(value: number): PriorityName {
  const hit = (Object.keys(PRIORITIES) as PriorityName[]).find((k) => PRIORITIES[k] === value);
  return hit ?? 'NORMAL';
}

export function defaultPriority(modelType: ModelType): number {
  return PRIORITIES[DEFAULT_PRIORITY[modelType]];
}

export function parseTriggerRequest(body: unknown): TriggerRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw CoordinatorInvalidRequest('body must be a JSON object like {"model_type": "nlu"}');
  }
  const r = schema.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw CoordinatorInvalidRequest(`${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  const b = r.data;
  if (!isModelType(b.model_type)) throw CoordinatorUnknownModelType(b.model_type, MODEL_TYPES.join(', '));
  const epochs = b.epochs ?? undefined;
  const problem = findJobOptionProblem(b.model_type, { epochs });
  if (problem) throw CoordinatorInvalidRequest.with({ field: problem.field, allowed: problem.allowed }, describeJobOptionProblem(b.model_type, problem));
  return {
    modelType: b.model_type,
    priority: b.priority == null ? defaultPriority(b.model_type) : parsePriority(b.priority),
    epochs: (epochs as number | undefined) ?? null,
  };
}
