/**
 * Training jobs: a card with live charts for every queued or running job and for the newest finished
 * ones, and a table of the earlier jobs.
 */
import { api } from './api.js';
import { badge, byId, h, renderIfChanged } from './dom.js';
import { num, pct, time } from './format.js';
import { ACTIVE_STATUSES, JobCard } from './job-card.js';

/** Cards shown at most when nothing runs; running and queued jobs always get one. */
const CARD_LIMIT = 4;
/** Jobs read per refresh: the cards plus a screenful of history. */
const JOBS_READ = 30;
/**
 * Streams open at once. A browser keeps at most six HTTP/1.1 connections to one origin, and the 2 s
 * refresh and the buttons need some of them; a finished job's stream closes after its replay.
 */
const MAX_OPEN_STREAMS = 3;

/**
 * @param {() => void} refreshSoon asks for an immediate refresh of every section
 */
export function createJobsSection(refreshSoon) {
  const cardsEl = byId('job-cards');
  const olderEl = byId('older-jobs');
  /** @type {Map<string, JobCard>} */
  const cards = new Map();

  async function refresh() {
    /** @type {{jobs: import('./job-card.js').Job[]}} */
    const { jobs } = await api(`api/training/jobs?limit=${JOBS_READ}`);
    const active = jobs.filter((j) => ACTIVE_STATUSES.has(j.status));
    const finished = jobs.filter((j) => !ACTIVE_STATUSES.has(j.status));
    const shown = [...active, ...finished.slice(0, Math.max(0, CARD_LIMIT - active.length))];
    const shownIds = new Set(shown.map((j) => j.job_id));

    for (const [id, card] of cards) {
      if (shownIds.has(id)) continue;
      card.destroy();
      cards.delete(id);
    }
    shown.forEach((job, i) => {
      let card = cards.get(job.job_id);
      if (card) card.update(job);
      else {
        card = new JobCard(job, refreshSoon);
        cards.set(job.job_id, card);
      }
      // Keep the page order equal to the list order; moving only when needed keeps the charts still.
      if (cardsEl.children[i] !== card.el) cardsEl.insertBefore(card.el, cardsEl.children[i] ?? null);
      if (!card.loss) card.start();
    });
    // In list order, so running jobs get their live stream before finished ones replay.
    let open = [...cards.values()].filter((c) => c.isStreaming()).length;
    for (const job of shown) {
      const card = cards.get(job.job_id);
      if (!card?.wantsStream() || open >= MAX_OPEN_STREAMS) continue;
      card.openStream();
      open++;
    }
    byId('jobs-empty').hidden = shown.length > 0;
    byId('jobs-count').textContent = active.length ? `${active.length} active` : '';

    const older = jobs.filter((j) => !shownIds.has(j.job_id));
    olderEl.hidden = older.length === 0;
    renderIfChanged(byId('older-jobs-body'), older, () => older.map(olderRow));
    return { active: active.length };
  }

  return { refresh };
}

/** @param {import('./job-card.js').Job} j */
function olderRow(j) {
  return h(
    'tr',
    { data: { jobId: j.job_id } },
    h('td', { class: 'mono', text: j.job_id }),
    h('td', { text: j.model_type }),
    h('td', null, badge(j.status)),
    h('td', { class: 'num', text: `${j.epoch} / ${j.total_epochs}` }),
    h('td', { class: 'num', text: num(j.metrics?.val_loss ?? j.loss) }),
    h('td', { class: 'num', text: pct(j.metrics?.val_accuracy ?? j.accuracy) }),
    h('td', { text: j.model_version ?? (j.error ? `error: ${j.error}` : '–') }),
    h('td', { text: time(j.completed_at ?? j.started_at) }),
  );
}
