/** The few reactor, prime and jarvis calls the soak makes, each through the tallying client. */
import type { SoakClient } from './client.js';
import type { Cluster } from './cluster.js';
import { pollUntil } from './cluster.js';

export const TERMINAL_JOB = new Set(['completed', 'failed', 'cancelled']);
export const TERMINAL_DEPLOYMENT = new Set(['completed', 'rolled_back', 'aborted']);

export interface JobView {
  job_id: string;
  status: string;
  epoch: number;
  total_epochs: number;
  model_version: string | null;
  error: string | null;
  resumed_from_epoch: number | null;
}

export class Actions {
  constructor(
    private readonly client: SoakClient,
    private readonly cluster: Cluster,
  ) {}

  private get reactor(): string {
    return this.cluster.url('reactor');
  }

  /** Starts an nlu job on the buffer, checkpointing every epoch. */
  async startJob(jobId: string, epochs: number): Promise<boolean> {
    const a = await this.client.post('reactor POST /api/training/start', `${this.reactor}/api/training/start`, {
      model_type: 'nlu',
      job_id: jobId,
      epochs,
      checkpoint_interval: 1,
    });
    return a.status === 200;
  }

  async job(jobId: string): Promise<JobView | null> {
    const a = await this.client.get('reactor GET /api/training/status', `${this.reactor}/api/training/status/${encodeURIComponent(jobId)}`);
    return a.status === 200 ? (a.body as JobView) : null;
  }

  async waitJob(jobId: string, want: (j: JobView) => boolean, timeoutMs: number): Promise<JobView | null> {
    return pollUntil(async () => {
      const j = await this.job(jobId);
      return j && want(j) ? j : null;
    }, timeoutMs, 100);
  }

  async jobs(): Promise<JobView[]> {
    const a = await this.client.get('reactor GET /api/training/jobs', `${this.reactor}/api/training/jobs?limit=500`);
    if (a.status !== 200) return [];
    const body = a.body as { jobs?: JobView[] } | JobView[];
    return Array.isArray(body) ? body : (body.jobs ?? []);
  }

  /** Registered nlu versions and the stable one. */
  async versions(): Promise<{ stable: string | null; versions: string[] }> {
    const a = await this.client.get('reactor GET /api/models/{type}', `${this.reactor}/api/models/nlu`);
    if (a.status !== 200) return { stable: null, versions: [] };
    const b = a.body as { stable?: string | null; versions?: { version: string }[] };
    return { stable: b.stable ?? null, versions: (b.versions ?? []).map((v) => v.version) };
  }

  async deploy(version: string, strategy: 'immediate' | 'gradual_rollout'): Promise<string | null> {
    const a = await this.client.post('reactor POST /api/models/deploy', `${this.reactor}/api/models/deploy`, {
      model_type: 'nlu',
      model_version: version,
      strategy,
      force: true,
      config: { rollout_steps: [10, 50, 100], monitor_duration_seconds: 1, min_samples: 5, rollback_on_error_rate: 0.5 },
    });
    return a.status === 200 ? (a.body as { deployment_id: string }).deployment_id : null;
  }

  async deployments(): Promise<{ deployment_id: string; status: string; current_percentage: number }[]> {
    const a = await this.client.get('reactor GET /api/models/deployments', `${this.reactor}/api/models/deployments?limit=200`);
    if (a.status !== 200) return [];
    const b = a.body as { deployments?: { deployment_id: string; status: string; current_percentage: number }[] };
    return Array.isArray(b) ? b : (b.deployments ?? []);
  }

  async predict(session: string, text: string): Promise<string | null> {
    const a = await this.client.post('prime POST /api/predict/nlu', `${this.cluster.url('prime')}/api/predict/nlu`, { input: { text }, session_id: session });
    return a.status === 200 ? (a.body as { prediction_id: string }).prediction_id : null;
  }

  /**
   * Whether prime serves an nlu version within `timeoutMs`: waits until its health lists one, then predicts
   * once. Predicting earlier would rightly be answered 503 "nothing deployed" (not transient, so a 5xx).
   */
  async predictionsReady(timeoutMs: number): Promise<boolean> {
    const served = await pollUntil(async () => {
      const a = await this.client.get('prime GET /health', `${this.cluster.url('prime')}/health`);
      const nlu = (a.body as { models?: Record<string, { stable: string | null; canary: string | null }> } | null)?.models?.nlu;
      return a.status === 200 && nlu !== undefined && (nlu.stable ?? nlu.canary) !== null;
    }, timeoutMs, 250);
    return served === true && (await this.predict('warm-up', 'play some jazz')) !== null;
  }

  async feedback(predictionId: string, success: boolean): Promise<void> {
    await this.client.post('prime POST /api/feedback', `${this.cluster.url('prime')}/api/feedback`, { prediction_id: predictionId, success });
  }

  async trigger(epochs: number): Promise<string | null> {
    const a = await this.client.post('jarvis POST /api/training/trigger', `${this.cluster.url('jarvis')}/api/training/trigger`, { model_type: 'nlu', epochs });
    return a.status === 200 ? (a.body as { job_id: string }).job_id : null;
  }

  async jarvisJobs(): Promise<{ job_id: string; status: string }[]> {
    const a = await this.client.get('jarvis GET /api/training/jobs', `${this.cluster.url('jarvis')}/api/training/jobs?limit=200`);
    if (a.status !== 200) return [];
    const b = a.body as { jobs?: { job_id: string; status: string }[] };
    return Array.isArray(b) ? b : (b.jobs ?? []);
  }

  async jarvisOutboxPending(): Promise<number | null> {
    const a = await this.client.get('jarvis GET /health', `${this.cluster.url('jarvis')}/health`);
    const b = a.body as { outbox?: { pending?: number } } | null;
    return typeof b?.outbox?.pending === 'number' ? b.outbox.pending : null;
  }
}
