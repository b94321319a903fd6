/**
 * Model versions per type with their metrics, which one is stable and which is canary, what J-Prime
 * serves and counted per version, and a rollback button per type.
 */
import { api, command } from './api.js';
import { badge, byId, h, invalidate, renderIfChanged } from './dom.js';
import { count, num, pct, time } from './format.js';

/** Versions listed per type, newest first; older ones are in `trinity models`. */
const VERSIONS_SHOWN = 6;
/** Metrics shown per version, in this order, when the version has them. */
const METRICS = [
  ['val_accuracy', 'val acc', pct],
  ['accuracy', 'acc', pct],
  ['val_loss', 'val loss', num],
  ['spearman', 'spearman', num],
  ['recall_at_1', 'recall@1', pct],
  ['eer', 'EER', pct],
];

/**
 * @typedef {{version: string, created_at: string, job_id: string, status: string,
 *   metrics: Record<string, number | null>, experience_counts: Record<string, number>}} Version
 * @typedef {{stable: string | null, canary: string | null, canary_percentage: number, versions: Version[],
 *   deployment_id?: string | null}} ModelType
 * @typedef {{requests: number, errors: number, feedback_success: number, feedback_failure: number}} Served
 * @typedef {{health?: {models?: Record<string, {stable: string | null, canary: string | null, canary_percentage: number}>} | null,
 *   stats?: {models?: Record<string, Record<string, Served>>} | null, reachable: boolean}} PrimeView
 */

/** @param {() => void} refreshSoon */
export function createModelsSection(refreshSoon) {
  const el = byId('models');

  /** @param {PrimeView | null} prime */
  async function refresh(prime) {
    /** @type {{models: Record<string, ModelType>}} */
    const { models } = await api('api/models');
    const served = prime?.reachable ? { health: prime.health?.models ?? {}, stats: prime.stats?.models ?? {} } : null;
    renderIfChanged(el, { models, served }, () => render(models, served));
  }

  /**
   * @param {Record<string, ModelType>} models
   * @param {{health: Record<string, any>, stats: Record<string, Record<string, Served>>} | null} served
   */
  function render(models, served) {
    const types = Object.entries(models).filter(([, m]) => m.versions.length > 0);
    const none = Object.keys(models).filter((t) => models[t].versions.length === 0);
    return [
      types.length === 0 ? h('p', { class: 'empty', text: 'No model versions yet: a completed training job registers one.' }) : null,
      h('div', { class: 'grid models-grid' }, types.map(([type, m]) => typeCard(type, m, served))),
      none.length ? h('p', { class: 'muted small', text: `No versions yet: ${none.join(', ')}.` }) : null,
    ];
  }

  /**
   * @param {string} type
   * @param {ModelType} m
   * @param {{health: Record<string, any>, stats: Record<string, Record<string, Served>>} | null} served
   */
  function typeCard(type, m, served) {
    const versions = [...m.versions].sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, VERSIONS_SHOWN);
    const live = served?.health[type];
    const rollback = /** @type {HTMLButtonElement} */ (
      h('button', {
        class: 'btn',
        type: 'button',
        data: { action: 'rollback' },
        disabled: !m.stable || m.versions.length < 2,
        title: 'make the previous version stable, at once',
        text: 'Roll back',
        onClick: async () => {
          if (!confirm(`Roll back ${type} to its previous version?`)) return;
          await command(rollback, `Roll back ${type}`, 'api/models/rollback', { model_type: type });
          invalidate(el);
          refreshSoon();
        },
      })
    );
    return h(
      'article',
      { class: 'card', data: { modelType: type } },
      h('header', { class: 'card-head' }, h('h3', { text: type }), h('span', { class: 'muted small', text: `${m.versions.length} version${m.versions.length === 1 ? '' : 's'}` }), rollback),
      h(
        'p',
        { class: 'small' },
        'stable ',
        h('strong', { class: 'mono', text: m.stable ?? '–' }),
        m.canary ? [' · canary ', h('strong', { class: 'mono', text: m.canary }), ` at ${m.canary_percentage} %`] : null,
        live ? h('span', { class: 'muted', text: ` · J-Prime serves ${describeServed(live)}` }) : served ? h('span', { class: 'muted', text: ' · not served by J-Prime' }) : null,
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'compact' },
          h('thead', null, h('tr', null, ['version', '', 'metrics', 'train / val', 'J-Prime req / err', 'created'].map((t) => h('th', { text: t })))),
          h(
            'tbody',
            null,
            versions.map((v) => {
              const s = served?.stats[type]?.[v.version];
              return h(
                'tr',
                { data: { version: v.version } },
                h('td', { class: 'mono', title: `job ${v.job_id}`, text: v.version }),
                h('td', null, v.status === 'available' ? null : badge(v.status)),
                h('td', { class: 'small' }, metricsText(v.metrics)),
                h('td', { class: 'num', text: `${count(v.experience_counts.train)} / ${count(v.experience_counts.validation)}` }),
                h('td', { class: 'num', text: s ? `${count(s.requests)} / ${count(s.errors + s.feedback_failure)}` : '–' }),
                h('td', { class: 'small', text: time(v.created_at) }),
              );
            }),
          ),
        ),
      ),
    );
  }

  return { refresh };
}

/** @param {{stable: string | null, canary: string | null, canary_percentage: number}} live */
function describeServed(live) {
  if (!live.stable && !live.canary) return 'nothing';
  if (!live.canary) return `${live.stable}`;
  return `${live.stable ?? '–'} ${100 - live.canary_percentage} % / ${live.canary} ${live.canary_percentage} %`;
}

/** @param {Record<string, number | null>} metrics */
function metricsText(metrics) {
  const parts = [];
  for (const [key, label, fmt] of METRICS) {
    const v = metrics[/** @type {string} */ (key)];
    if (typeof v === 'number') parts.push(`${label} ${/** @type {(x: unknown) => string} */ (fmt)(v)}`);
  }
  return parts.join(' · ') || '–';
}
