/**
 * JARVIS's training queue, read through reactor (`GET /api/dashboard/queue`): running jobs first, then
 * queued ones in the order they will run, each with the reason it waits.
 */
import { api } from './api.js';
import { badge, byId, h, renderIfChanged } from './dom.js';

/**
 * @typedef {{job_id: string, model_type: string, priority: string, status: string, phase: string | null,
 *   position?: number, waiting_reason: string | null, source: string, reactor_job_id: string | null,
 *   progress: {epoch?: number, total_epochs?: number} | null, placement: {target?: string} | null}} QueueJob
 * @typedef {{source: string, reachable: boolean, error: string | null,
 *   queue: {length: number, running: number, jobs: QueueJob[]} | null}} QueueAnswer
 */

export function createQueueSection() {
  const el = byId('queue');

  async function refresh() {
    /** @type {QueueAnswer} */
    const answer = await api('api/dashboard/queue');
    byId('queue-count').textContent = answer.queue ? `${answer.queue.running} running · ${answer.queue.length} waiting` : '';
    renderIfChanged(el, answer, () => render(answer));
    return answer;
  }

  return { refresh };
}

/** @param {QueueAnswer} a */
function render(a) {
  if (!a.reachable || !a.queue) {
    return h('p', { class: 'empty' }, 'JARVIS is not reachable: ', h('span', { class: 'mono', text: a.error ?? a.source }));
  }
  if (a.queue.jobs.length === 0) return h('p', { class: 'empty', text: 'The queue is empty: nothing waits to train.' });
  // A list, not a table: the waiting reason is the point of this section and needs the full width.
  return h('ol', { class: 'queue-list' }, a.queue.jobs.map(item));
}

/** @param {QueueJob} j */
function item(j) {
  const p = j.progress;
  const progress = p && typeof p.epoch === 'number' && p.total_epochs ? `epoch ${p.epoch} / ${p.total_epochs}` : '';
  const phase = j.phase ? j.phase.replace(/_/g, ' ') : '';
  return h(
    'li',
    { data: { jobId: j.job_id } },
    h(
      'div',
      { class: 'queue-head' },
      h('span', { class: 'queue-pos', title: 'position in the queue (0: running)', text: j.position ?? '' }),
      h('span', { class: 'tag', text: j.model_type }),
      h('span', { class: 'mono queue-id', title: j.reactor_job_id ? `reactor job ${j.reactor_job_id}` : j.job_id, text: j.job_id }),
      h('span', { class: 'muted small', text: `${j.priority}${j.source === 'auto' ? ' · auto' : ''}` }),
      badge(j.status),
    ),
    [phase, progress].some(Boolean) ? h('div', { class: 'muted small', text: [phase, progress].filter(Boolean).join(' · ') }) : null,
    j.waiting_reason ? h('div', { class: 'reason small', text: j.waiting_reason }) : null,
  );
}
