/** Job stream events: from either framing (SSE or NDJSON) to one typed `JobEvent`. */
import { ReactorBadResponseError } from './errors.js';
import { jobEventSchemas } from './schemas.js';
import type { SseMessage } from './sse.js';
import type { JobEvent, JobEventName, TerminalEventName, TerminalJobEvent } from './types.js';

export const TERMINAL_EVENTS: ReadonlySet<string> = new Set<TerminalEventName>(['completed', 'failed', 'cancelled']);

export function isJobEventName(name: unknown): name is JobEventName {
  return typeof name === 'string' && Object.hasOwn(jobEventSchemas, name);
}

export function isTerminalEvent(e: JobEvent): e is TerminalJobEvent {
  return TERMINAL_EVENTS.has(e.event);
}

/** Sequence numbers are integers; anything else has no order we could use. */
export function parseEventId(id: string | number | undefined | null): number | undefined {
  if (id === undefined || id === null || id === '') return undefined;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Checks `data` against its event's schema. Returns undefined for an event name this client does not
 * know, so a newer reactor can add events without breaking older clients.
 */
export function toJobEvent(name: string | undefined, id: string | number | undefined, data: unknown): JobEvent | undefined {
  if (!isJobEventName(name)) return undefined;
  const parsed = jobEventSchemas[name].safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; ');
    throw new ReactorBadResponseError(`stream event ${name} ${id ?? ''}`.trim(), issues, parsed.error);
  }
  // The schema was picked by `name`, so data matches that member of the union; TS cannot correlate the two.
  return { id: parseEventId(id), event: name, data: parsed.data } as JobEvent;
}

export function jobEventFromSse(m: SseMessage): JobEvent | undefined {
  if (!isJobEventName(m.event)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(m.data);
  } catch (err) {
    throw new ReactorBadResponseError(`stream event ${m.event} ${m.id ?? ''}`.trim(), `data is not JSON: ${JSON.stringify(m.data.slice(0, 120))}`, err);
  }
  return toJobEvent(m.event, m.id, data);
}

/** An NDJSON line is the event's data plus `event` and `id` (CONTRACT §3). */
export function jobEventFromNdjson(line: unknown): JobEvent | undefined {
  if (line === null || typeof line !== 'object' || Array.isArray(line)) {
    throw new ReactorBadResponseError('NDJSON stream line', `expected an object, got ${JSON.stringify(line)}`);
  }
  const { event, id, ...data } = line as Record<string, unknown>;
  if (typeof event !== 'string') return undefined;
  return toJobEvent(event, typeof id === 'number' || typeof id === 'string' ? id : undefined, data);
}

/** The NDJSON form of an event: its data plus `event` and `id`, as the reactor's own NDJSON stream. */
export function jobEventToNdjson(e: JobEvent): Record<string, unknown> {
  return { event: e.event, ...(e.id === undefined ? {} : { id: e.id }), ...e.data };
}
