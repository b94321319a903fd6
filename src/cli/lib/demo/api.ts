/**
 * The few JSON calls the demo makes to JARVIS, J-Prime and Reactor-Core, with the answers checked at the
 * edge (only the fields the demo reads) and every failure turned into a DemoStopped that says what to do.
 */
import { z } from 'zod';
import { TrinityError } from '../../../errors.js';

/** The demo cannot go on; the message says what happened and what to do next. Exit code 1. */
export class DemoStopped extends TrinityError {
  constructor(what: string, next: string, cause?: unknown) {
    super('TRN_ERR_CLI_DEMO_STOPPED', 500, next ? `${what} — ${next}` : what, {}, cause);
    this.name = 'DemoStopped';
  }
}

export const START_SERVICES = 'start them with: npx trinity up';

/** A plain request must not hang the demo; training is followed over its own stream. */
const REQUEST_TIMEOUT_MS = 30_000;

export class ServiceApi {
  constructor(
    /** "JARVIS", "J-Prime", "Reactor-Core": how messages name it. */
    readonly name: string,
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  /** `okStatuses`: answers besides 2xx that are not errors (health says 503 while starting). */
  get<S extends z.ZodType>(path: string, schema: S, okStatuses: readonly number[] = []): Promise<z.output<S>> {
    return this.request('GET', path, undefined, schema, okStatuses);
  }

  post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.output<S>> {
    return this.request('POST', path, body, schema, []);
  }

  private async request<S extends z.ZodType>(method: 'GET' | 'POST', path: string, body: unknown, schema: S, okStatuses: readonly number[]): Promise<z.output<S>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      text = await res.text();
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? ((err.cause as NodeJS.ErrnoException).code ?? err.cause.message) : String(err);
      throw new DemoStopped(`${this.name} is not answering at ${this.baseUrl} (${cause})`, START_SERVICES, err);
    }
    const json = parseJson(text);
    if (!res.ok && !okStatuses.includes(res.status)) {
      const error = typeof json === 'object' && json !== null && 'error' in json ? String((json as { error: unknown }).error) : text.slice(0, 200);
      const next = res.status === 401 || res.status === 403 ? 'set TRINITY_API_TOKEN to the token the services were started with' : '';
      throw new DemoStopped(`${this.name} answered ${res.status} to ${method} ${path}: ${error}`, next);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
      throw new DemoStopped(`${this.name} at ${this.baseUrl} sent an unexpected answer to ${method} ${path}: ${issues}`, 'is that URL really Trinity?');
    }
    return parsed.data;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const num = z.number().nullish();
const str = z.string().nullish();

// ── JARVIS ──────────────────────────────────────────────────────────────────
export const jarvisHealthSchema = z.looseObject({
  status: z.string(),
  reactor: z.looseObject({ url: z.string() }).nullish(),
  outbox: z.looseObject({ pending: z.number(), files_written: z.number(), last_error: str }).nullish(),
  auto_training: z
    .looseObject({
      enabled: z.boolean(),
      last_check: z.looseObject({ at: z.string(), counts: z.record(z.string(), z.number()).nullish(), error: str }).nullish(),
    })
    .nullish(),
  problems: z.array(z.string()).nullish(),
});
export type JarvisHealth = z.infer<typeof jarvisHealthSchema>;

export const hostResourcesSchema = z.looseObject({ memory_total_gb: num, memory_available_gb: num });

export const acceptedSchema = z.looseObject({ accepted: z.number(), rejected: z.array(z.looseObject({ index: z.number(), error: z.string() })) });

export const jarvisJobSchema = z.looseObject({
  job_id: z.string(),
  model_type: z.string(),
  priority: z.string(),
  source: z.string(),
  status: z.string(),
  phase: str,
  waiting_reason: str,
  reactor_job_id: str,
  model_version: str,
  deployment: z
    .looseObject({ status: z.string(), strategy: str, http_status: num, deployment_id: str, error: str, response: z.looseObject({ message: str }).nullish() })
    .nullish(),
  error: str,
  created_at: z.string(),
});
export type JarvisJob = z.infer<typeof jarvisJobSchema>;
export const jarvisJobsSchema = z.looseObject({ jobs: z.array(jarvisJobSchema) });

// ── Reactor-Core ───────────────────────────────────────────────────────────
const accuracyOf = z.looseObject({ accuracy: num, version: str, n: num }).nullish();
export const versionDetailsSchema = z.looseObject({
  version: z.string(),
  metrics: z.looseObject({ val_accuracy: num, accuracy: num }),
  experience_counts: z.record(z.string(), z.number()).nullish(),
  manifest: z.looseObject({ evaluation: z.looseObject({ validation_n: num, candidate: accuracyOf, stable: accuracyOf }).nullish() }).nullish(),
});
export type VersionDetails = z.infer<typeof versionDetailsSchema>;

const typeStats = z.looseObject({ total: z.number(), new_since_last_training: z.number() });
export const experienceStatsSchema = z.looseObject({ nlu: typeStats.optional() });

export const deploymentSchema = z.looseObject({
  deployment_id: z.string(),
  model_version: z.string(),
  previous_version: str,
  strategy: z.string(),
  status: z.string(),
  current_percentage: z.number(),
  config: z.looseObject({ rollout_steps: z.array(z.number()), rollback_on_error_rate: z.number(), monitor_duration_seconds: z.number(), min_samples: z.number() }),
});
export type Deployment = z.infer<typeof deploymentSchema>;

// ── J-Prime ─────────────────────────────────────────────────────────────────
export const primeSplitSchema = z.looseObject({ stable: str, canary: str, canary_percentage: z.number(), deployment_id: str });
export type PrimeSplit = z.infer<typeof primeSplitSchema>;
export const primeModelsSchema = z.looseObject({ models: z.record(z.string(), primeSplitSchema) });

export const nluAnswerSchema = z.looseObject({ model_version: z.string(), intent: z.string(), confidence: z.number(), in_scope: z.boolean().optional() });
export type NluAnswer = z.infer<typeof nluAnswerSchema>;
