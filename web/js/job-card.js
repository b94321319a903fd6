/**
 * One training job: status, epoch progress with ETA, the latest metrics, and live loss and accuracy
 * charts fed by the job's event stream. The card lives as long as the job is shown, so its charts keep
 * their points across the list's refreshes.
 */
import { command } from './api.js';
import { MetricChart } from './chart.js';
import { badge, h, replaceChildren } from './dom.js';
import { duration, num, pct, time } from './format.js';
import { JobStream } from './job-stream.js';

export const ACTIVE_STATUSES = new Set(['queued', 'training']);

/**
 * @typedef {{job_id: string, model_type: string, status: string, epoch: number, total_epochs: number,
 *   loss: number | null, accuracy: number | null, metrics: Record<string, number | null> | null,
 *   model_version: string | null, error: string | null, created_at?: string, started_at: string | null,
 *   completed_at: string | null, resumed_from_epoch: number | null, experiences?: number,
 *   worker_id?: string | null, worker_pool?: string}} Job
 */

const STREAM_LABELS = { live: 'live', reconnecting: 'reconnecting…', ended: '', refused: 'stream refused' };

export class JobCard {
  /**
   * @param {Job} job
   * @param {() => void} onChanged called after a cancel, so the list refreshes at once
   */
  constructor(job, onChanged) {
    this.job = job;
    this.onChanged = onChanged;
    /** @type {Record<string, any>} the newest `status` event's data */
    this.live = {};
    this.streamState = '';
    /** @type {MetricChart | null} */
    this.loss = null;
    /** @type {MetricChart | null} */
    this.acc = null;
    /** @type {JobStream | null} */
    this.stream = null;
    this.fields = {
      status: h('span'),
      progressBar: h('div', { class: 'progress-fill' }),
      progressText: h('span', { class: 'progress-text' }),
      eta: h('span', { class: 'muted' }),
      metrics: h('div', { class: 'job-metrics' }),
      footer: h('div', { class: 'job-footer-text muted' }),
      stream: h('span', { class: 'stream-state' }),
    };
    this.cancelButton = /** @type {HTMLButtonElement} */ (
      h('button', { class: 'btn btn-danger', type: 'button', data: { action: 'cancel' }, text: 'Cancel', onClick: () => void this.cancel() })
    );
    this.lossEl = h('div', { class: 'chart' });
    this.accEl = h('div', { class: 'chart' });
    const f = this.fields;
    this.el = h(
      'article',
      { class: 'card job-card', data: { jobId: job.job_id } },
      h('header', { class: 'card-head' }, h('span', { class: 'tag', text: job.model_type }), h('h3', { class: 'job-id', text: job.job_id, title: job.job_id }), f.stream, f.status),
      h('div', { class: 'progress' }, f.progressBar),
      h('div', { class: 'progress-line' }, f.progressText, f.eta),
      f.metrics,
      h('div', { class: 'charts' }, figure('loss', this.lossEl), figure('accuracy', this.accEl)),
      h('footer', { class: 'card-foot' }, f.footer, this.cancelButton),
    );
    this.render();
  }

  /** Creates the charts; they need the card's width, so the card must be in the page. */
  start() {
    this.loss = new MetricChart(this.lossEl, 'loss');
    this.acc = new MetricChart(this.accEl, 'accuracy');
  }

  /**
   * True while the card needs a stream it does not have: a queued job has no events to show yet, and
   * would hold one of the browser's six connections to reactor while it waits.
   */
  wantsStream() {
    return this.stream === null && this.job.status !== 'queued';
  }

  /** True while this card holds an open connection to reactor. */
  isStreaming() {
    return this.stream !== null && !this.stream.ended;
  }

  /** Opens the job's event stream: the log from its start, then live until the terminal event. */
  openStream() {
    this.stream = new JobStream(
      this.job.job_id,
      (e) => this.onEvent(e),
      (state) => {
        this.streamState = state;
        this.render();
      },
    );
  }

  /** @param {import('./job-stream.js').JobEvent} e */
  onEvent({ event, data }) {
    if (event === 'status' && typeof data.resumed_from_epoch === 'number' && typeof data.loss !== 'number') {
      // The resume marker carries no metrics: the curve continues from the checkpoint's epoch.
      this.loss?.truncateAfter(data.resumed_from_epoch);
      this.acc?.truncateAfter(data.resumed_from_epoch);
    } else if (event === 'status' && typeof data.epoch === 'number' && data.epoch > 0) {
      this.live = data;
      this.loss?.put(data.epoch, data.loss ?? null, data.val_loss ?? null);
      this.acc?.put(data.epoch, data.accuracy ?? null, data.val_accuracy ?? null);
    }
    // The terminal event is newer than the last list refresh: show it now.
    if (event === 'completed' || event === 'failed' || event === 'cancelled') {
      this.job = { ...this.job, status: event, model_version: data.model_version ?? this.job.model_version, error: data.error ?? this.job.error };
    }
    this.render();
  }

  /** @param {Job} job the job as the list has it now */
  update(job) {
    this.job = job;
    // A finished job whose stream missed the end would reconnect forever; the list knows it is over.
    if (!ACTIVE_STATUSES.has(job.status) && this.streamState === 'reconnecting') this.stream?.close();
    this.render();
  }

  render() {
    const job = this.job;
    const f = this.fields;
    const active = ACTIVE_STATUSES.has(job.status);
    const epoch = Math.max(job.epoch ?? 0, active ? (this.live.epoch ?? 0) : 0);
    const total = job.total_epochs || this.live.total_epochs || 0;
    const done = total > 0 ? Math.min(1, epoch / total) : 0;
    replaceChildren(f.status, badge(job.status));
    f.progressBar.style.width = `${(done * 100).toFixed(1)}%`;
    f.progressBar.classList.toggle('progress-done', !active);
    f.progressText.textContent = `epoch ${epoch} / ${total || '?'} · ${(done * 100).toFixed(0)} %`;
    f.eta.textContent =
      job.status === 'training' && typeof this.live.eta_seconds === 'number'
        ? `ETA ${duration(this.live.eta_seconds)} · ${num(this.live.samples_per_second, 0)} samples/s`
        : '';
    const m = active && this.live.epoch ? this.live : { ...(job.metrics ?? {}), loss: job.loss ?? job.metrics?.loss, accuracy: job.accuracy ?? job.metrics?.accuracy };
    replaceChildren(
      f.metrics,
      metric('loss', num(m.loss)),
      metric('val loss', num(m.val_loss)),
      metric('accuracy', pct(m.accuracy)),
      metric('val accuracy', pct(m.val_accuracy)),
    );
    const bits = [
      job.started_at ? `started ${time(job.started_at)}` : `created ${time(job.created_at)}`,
      job.completed_at ? `ended ${time(job.completed_at)}` : '',
      job.resumed_from_epoch ? `resumed from epoch ${job.resumed_from_epoch}` : '',
      runnerText(job),
      job.model_version ? `→ ${job.model_version}` : '',
      job.error ? `error: ${job.error}` : '',
    ];
    f.footer.textContent = bits.filter(Boolean).join(' · ');
    f.stream.textContent = STREAM_LABELS[/** @type {keyof typeof STREAM_LABELS} */ (this.streamState)] ?? '';
    f.stream.className = `stream-state stream-${this.streamState}`;
    this.cancelButton.hidden = !active;
  }

  async cancel() {
    if (!confirm(`Cancel training job ${this.job.job_id}?`)) return;
    const ok = await command(this.cancelButton, `Cancel ${this.job.job_id}`, `api/training/cancel/${encodeURIComponent(this.job.job_id)}`);
    if (ok) this.onChanged();
  }

  destroy() {
    this.stream?.close();
    this.loss?.destroy();
    this.acc?.destroy();
    this.el.remove();
  }
}

/**
 * A chart with its caption, which doubles as the legend.
 * @param {string} title
 * @param {HTMLElement} chart
 */
function figure(title, chart) {
  return h(
    'figure',
    null,
    h('figcaption', null, h('span', { class: 'chart-title', text: title }), h('span', { class: 'key key-train', text: 'train' }), h('span', { class: 'key key-val', text: 'validation' })),
    chart,
  );
}

/**
 * @param {string} label
 * @param {string} value
 */
function metric(label, value) {
  return h('div', { class: 'metric' }, h('span', { class: 'metric-label', text: label }), h('span', { class: 'metric-value', text: value }));
}

/**
 * Which runner trains the job (a reactor's own, or a `trinity worker`) and its pool; a queued job of a
 * pool other than local waits for such a worker.
 * @param {Job} job
 */
function runnerText(job) {
  const pool = job.worker_pool && job.worker_pool !== 'local' ? ` (${job.worker_pool} pool)` : '';
  if (job.worker_id) return `${job.status === 'training' ? 'on' : 'ran on'} ${job.worker_id}${pool}`;
  return job.status === 'queued' && pool ? `waiting for a ${job.worker_pool} worker` : '';
}
