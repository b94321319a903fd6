/**
 * A small stand-in for the reactor's training routes (CONTRACT §3), on 127.0.0.1 and an ephemeral port,
 * for client and CLI tests. Its streams can misbehave on purpose: drop the connection after N events
 * (optionally cutting an event in half), stall, replay an event already sent, or fail outright.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

export interface FakeJob {
  id: string;
  modelType: string;
  epochs: number;
  events: FakeEvent[];
  /** How far `status` polls have advanced through `events` (each poll moves one event on). */
  pollCursor: number;
}

export interface StreamBehaviour {
  /** Per connection (0-based): drop it after sending this many events. */
  dropAfter?: Array<number | undefined>;
  /** When dropping, first write the start of the next event so the client sees half an event. */
  cutEventOnDrop?: boolean;
  /** Per connection: stop writing (but keep the socket open) after this many events. */
  stallAfter?: Array<number | undefined>;
  /** On a resumed connection, resend the event at Last-Event-ID too (a duplicate the client must skip). */
  replayLast?: boolean;
  /** The first N connections answer 500. */
  failFirst?: number;
  /** Every connection answers this status (e.g. 404 to pretend the route does not exist). */
  alwaysStatus?: number;
  /** Pause between events, in ms. */
  eventDelayMs?: number;
}

export interface FakeReactorOptions {
  token?: string;
  stream?: StreamBehaviour;
  /** How started jobs end. Default `completed`. */
  terminal?: 'completed' | 'failed' | 'cancelled';
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function scriptEvents(jobId: string, epochs: number, terminal: 'completed' | 'failed' | 'cancelled'): FakeEvent[] {
  const events: Array<Omit<FakeEvent, 'id'>> = [{ event: 'queued', data: { job_id: jobId, status: 'queued', position: 0 } }];
  const last = terminal === 'completed' ? epochs : Math.min(2, epochs);
  for (let e = 1; e <= last; e++) {
    const loss = Number((1 / (e + 1)).toFixed(4));
    const accuracy = Number((0.5 + e / (2 * epochs + 2)).toFixed(4));
    events.push({
      event: 'status',
      data: { job_id: jobId, status: 'training', epoch: e, total_epochs: epochs, loss, accuracy, val_loss: loss + 0.05, val_accuracy: accuracy - 0.02, samples_per_second: 1000, eta_seconds: epochs - e },
    });
    if (e % 2 === 0) events.push({ event: 'checkpoint', data: { job_id: jobId, epoch: e, checkpoint_path: `/ckpt/${jobId}/epoch-${e}`, metrics: { loss, accuracy } } });
  }
  if (terminal === 'completed') events.push({ event: 'completed', data: { job_id: jobId, status: 'completed', model_version: 'v1.0.1', metrics: { loss: 0.1, accuracy: 0.95, val_loss: 0.12, val_accuracy: 0.93 } } });
  else if (terminal === 'failed') events.push({ event: 'failed', data: { job_id: jobId, status: 'failed', error: 'trainer process exited (out of memory)' } });
  else events.push({ event: 'cancelled', data: { job_id: jobId, status: 'cancelled', message: 'cancelled by user' } });
  return events.map((e, i) => ({ id: i + 1, ...e }));
}

export class FakeReactor {
  readonly requests: RecordedRequest[] = [];
  /** Last-Event-ID (header or ?since) of each stream connection, in order. */
  readonly streamResumes: Array<string | undefined> = [];
  readonly jobs = new Map<string, FakeJob>();
  private server: Server | undefined;
  private nextJob = 1;
  url = '';

  constructor(private readonly opts: FakeReactorOptions = {}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  addJob(id: string, epochs = 3, terminal = this.opts.terminal ?? 'completed', modelType = 'nlu'): FakeJob {
    const job: FakeJob = { id, modelType, epochs, events: scriptEvents(id, epochs, terminal), pollCursor: 0 };
    this.jobs.set(id, job);
    return job;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body: unknown = raw ? JSON.parse(raw) : undefined;
    this.requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body });

    if (this.opts.token !== undefined && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      return json(res, 401, { error: 'missing or wrong bearer token', details: 'send Authorization: Bearer <token>', code: 'TRN_ERR_HTTP_UNAUTHORIZED' });
    }
    const m = (re: RegExp) => re.exec(url.pathname)?.[1];
    const jobOr404 = (id: string) => {
      const job = this.jobs.get(decodeURIComponent(id));
      if (!job) json(res, 404, { error: 'Training job not found', details: `no job ${id}`, code: 'TRN_ERR_TRAINING_JOB_NOT_FOUND' });
      return job;
    };

    if (req.method === 'GET' && url.pathname === '/api/health') {
      return json(res, 200, { status: 'healthy', service: 'reactor-core', version: '0.1.0', uptime_seconds: 1, active_training_jobs: 0, experience_buffer_size: 0, models_deployed: {} });
    }
    if (req.method === 'POST' && url.pathname === '/api/training/start') {
      const b = (body ?? {}) as Record<string, unknown>;
      if (!['nlu', 'voice', 'vision', 'embedding'].includes(String(b.model_type))) {
        return json(res, 400, { error: `unknown model_type ${JSON.stringify(b.model_type)}; expected one of voice, nlu, vision, embedding`, details: 'body.model_type', code: 'TRN_ERR_TRAINING_UNKNOWN_MODEL_TYPE' });
      }
      const id = typeof b.job_id === 'string' ? b.job_id : `job-${this.nextJob++}`;
      if (!this.jobs.has(id)) this.addJob(id, typeof b.epochs === 'number' ? b.epochs : 3, undefined, String(b.model_type));
      return json(res, 200, { job_id: id, status: 'started', message: 'training started', started_at: '2025-01-01T00:00:00.000Z', estimated_duration_seconds: 3 });
    }
    let id: string | undefined;
    if (req.method === 'GET' && (id = m(/^\/api\/training\/status\/([^/]+)$/))) {
      const job = jobOr404(id);
      if (!job) return;
      job.pollCursor = Math.min(job.pollCursor + 1, job.events.length);
      return json(res, 200, snapshot(job, job.events.slice(0, job.pollCursor)));
    }
    if (req.method === 'POST' && (id = m(/^\/api\/training\/cancel\/([^/]+)$/))) {
      const job = jobOr404(id);
      if (!job) return;
      return json(res, 200, { job_id: job.id, status: 'cancelled', message: 'cancel requested' });
    }
    if (req.method === 'GET' && url.pathname === '/api/training/jobs') {
      const list = [...this.jobs.values()].reverse().map((j) => snapshot(j, j.events));
      return json(res, 200, { jobs: list.filter((j) => (!url.searchParams.get('status') || j.status === url.searchParams.get('status')) && (!url.searchParams.get('model_type') || j.model_type === url.searchParams.get('model_type'))) });
    }
    if (req.method === 'GET' && (id = m(/^\/api\/training\/stream\/([^/]+)$/))) return this.stream(req, res, url, id);
    return json(res, 404, { error: 'not found', details: `no route ${req.method} ${url.pathname}`, code: 'TRN_ERR_HTTP_NOT_FOUND' });
  }

  private async stream(req: IncomingMessage, res: ServerResponse, url: URL, id: string): Promise<void> {
    const s = this.opts.stream ?? {};
    const conn = this.streamResumes.length;
    const resume = (req.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('since') ?? undefined;
    this.streamResumes.push(resume);
    if (s.alwaysStatus !== undefined) {
      const code = s.alwaysStatus === 404 ? 'TRN_ERR_HTTP_NOT_FOUND' : 'TRN_ERR_HTTP_INTERNAL';
      return json(res, s.alwaysStatus, { error: 'stream unavailable', details: url.pathname, code });
    }
    if (conn < (s.failFirst ?? 0)) return json(res, 500, { error: 'internal error', details: 'see the service log', code: 'TRN_ERR_HTTP_INTERNAL' });
    const job = this.jobs.get(decodeURIComponent(id));
    if (!job) return json(res, 404, { error: 'Training job not found', details: `no job ${id}`, code: 'TRN_ERR_TRAINING_JOB_NOT_FOUND' });

    const sse = (req.headers.accept ?? '').includes('text/event-stream');
    res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/x-ndjson', 'cache-control': 'no-cache' });
    if (sse) res.write(': connected\n\n');
    const after = Number(resume ?? 0);
    const pending = job.events.filter((e) => e.id > after || (s.replayLast === true && resume !== undefined && e.id === after));
    let sent = 0;
    let closed = false;
    res.on('close', () => (closed = true));
    for (const e of pending) {
      if (closed) return;
      if (s.dropAfter?.[conn] === sent) {
        const cut = s.cutEventOnDrop ? `id: ${e.id}\nevent: ${e.event}\ndata: {"job_` : '';
        res.write(cut, () => res.socket?.destroy());
        return;
      }
      if (s.stallAfter?.[conn] === sent) return; // keep the socket open, send nothing more
      if (s.eventDelayMs) await sleep(s.eventDelayMs);
      res.write(sse ? `id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n` : JSON.stringify({ event: e.event, id: e.id, ...e.data }) + '\n');
      sent++;
    }
    res.end();
  }
}

function snapshot(job: FakeJob, seen: FakeEvent[]): Record<string, unknown> {
  const last = seen[seen.length - 1];
  const lastStatus = [...seen].reverse().find((e) => e.event === 'status')?.data;
  const lastCkpt = [...seen].reverse().find((e) => e.event === 'checkpoint')?.data;
  const terminal = last && ['completed', 'failed', 'cancelled'].includes(last.event) ? last : undefined;
  return {
    job_id: job.id,
    model_type: job.modelType,
    status: terminal ? terminal.event : lastStatus ? 'training' : 'queued',
    epoch: lastStatus?.epoch ?? 0,
    total_epochs: job.epochs,
    loss: lastStatus?.loss ?? null,
    accuracy: lastStatus?.accuracy ?? null,
    metrics: lastStatus ? { loss: lastStatus.loss, accuracy: lastStatus.accuracy, val_loss: lastStatus.val_loss, val_accuracy: lastStatus.val_accuracy } : null,
    model_version: terminal?.event === 'completed' ? terminal.data.model_version : null,
    error: terminal?.event === 'failed' ? terminal.data.error : null,
    started_at: '2025-01-01T00:00:00.000Z',
    completed_at: terminal ? '2025-01-01T00:01:00.000Z' : null,
    checkpoint: lastCkpt ? { epoch: lastCkpt.epoch, checkpoint_path: lastCkpt.checkpoint_path } : null,
    resumed_from_epoch: null,
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
