/**
 * Rollouts: each active deployment with its traffic split, the step it is at, per-version samples and
 * error rates, its decisions log and the operator's buttons; below, the recent finished ones.
 */
import { api, command } from './api.js';
import { badge, byId, h, invalidate, renderIfChanged } from './dom.js';
import { count, duration, pct, time } from './format.js';

const ACTIVE = new Set(['deploying', 'paused']);
/** Deployments read per refresh; the finished ones among them are listed briefly. */
const DEPLOYMENTS_READ = 8;
/** Decisions shown per rollout, newest first. */
const DECISIONS_SHOWN = 12;

/**
 * @typedef {{samples: number, errors: number, error_rate: number}} Counts
 * @typedef {Counts & {role: string, requests: number, step: Counts}} VersionCounts
 * @typedef {{id: number, event: string, reason: string, message: string, current_percentage: number, at: string}} Decision
 * @typedef {{deployment_id: string, model_type: string, model_version: string, previous_version: string | null,
 *   strategy: string, status: string, current_percentage: number,
 *   step: {index: number, percentage: number, steps: number[], elapsed_seconds: number} | null,
 *   config: {rollback_on_error_rate: number, monitor_duration_seconds: number, min_samples: number, auto_rollback: boolean},
 *   versions: Record<string, VersionCounts>, conditions: {type: string, reason: string, message: string}[],
 *   decisions?: Decision[], prime: {split: string, error?: string} | null, created_at: string, finished_at: string | null}} Deployment
 */

/** @param {() => void} refreshSoon */
export function createRolloutsSection(refreshSoon) {
  const el = byId('rollouts');
  // Two parts rendered apart: the active cards change every refresh (step time), and re-rendering the
  // finished list with them would close it under the user's cursor.
  const activeEl = h('div');
  const finishedEl = h('div');
  el.replaceChildren(activeEl, finishedEl);

  async function refresh() {
    /** @type {{deployments: Deployment[]}} */
    const { deployments } = await api(`api/models/deployments?limit=${DEPLOYMENTS_READ}`);
    // The list leaves the decisions out; active rollouts are read in full for their log.
    const active = await Promise.all(
      deployments.filter((d) => ACTIVE.has(d.status)).map((d) => /** @type {Promise<Deployment>} */ (api(`api/models/deployments/${encodeURIComponent(d.deployment_id)}`))),
    );
    const finished = deployments.filter((d) => !ACTIVE.has(d.status));
    byId('rollouts-count').textContent = active.length ? `${active.length} active` : '';
    renderIfChanged(activeEl, active, () => (active.length ? active.map(rolloutCard) : h('p', { class: 'empty', text: 'No rollout is running.' })));
    renderIfChanged(finishedEl, finished, () => (finished.length ? finishedTable(finished) : null));
  }

  /** @param {Deployment} d */
  function rolloutCard(d) {
    const canary = d.versions[d.model_version];
    const stable = d.previous_version ? d.versions[d.previous_version] : undefined;
    const condition = d.conditions.find((c) => c.type === 'Progressing') ?? d.conditions[0];
    return h(
      'article',
      { class: 'card rollout-card', data: { deploymentId: d.deployment_id } },
      h(
        'header',
        { class: 'card-head' },
        h('span', { class: 'tag', text: d.model_type }),
        h('h3', { class: 'mono' }, `${d.previous_version ?? '–'} → ${d.model_version}`),
        h('span', { class: 'muted small', text: d.strategy.replace(/_/g, ' ') }),
        badge(d.status),
      ),
      splitBar(d),
      stepsLine(d),
      condition ? h('p', { class: 'condition small' }, h('strong', { text: condition.reason }), ` ${condition.message}`) : null,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'compact' },
          h('thead', null, h('tr', null, ['version', 'role', 'requests', 'samples', 'errors', 'error rate', 'this step'].map((t) => h('th', { text: t })))),
          h('tbody', null, [canary && versionRow(d.model_version, canary, d), stable && d.previous_version && versionRow(d.previous_version, stable, d)]),
        ),
      ),
      h(
        'p',
        { class: 'muted small' },
        `rolls back above ${pct(d.config.rollback_on_error_rate)} errors${d.config.auto_rollback ? '' : ' (pauses: auto_rollback off)'} · ${d.config.min_samples} samples and ${duration(d.config.monitor_duration_seconds)} per step · J-Prime split ${d.prime?.split ?? '–'}`,
        d.prime?.error ? h('span', { class: 'warn', text: ` (${d.prime.error})` }) : null,
      ),
      h(
        'details',
        { class: 'decisions', open: true },
        h('summary', { text: `Decisions (${d.decisions?.length ?? 0})` }),
        h('ol', { reversed: true }, (d.decisions ?? []).slice(-DECISIONS_SHOWN).reverse().map(decisionItem)),
      ),
      h(
        'footer',
        { class: 'card-foot actions' },
        commandButton(d, 'promote', 'Promote', 'send all traffic to the new version now'),
        d.status === 'paused' ? commandButton(d, 'resume', 'Resume', 'continue the rollout') : commandButton(d, 'pause', 'Pause', 'hold the current split'),
        commandButton(d, 'abort', 'Abort', 'send all traffic back to the stable version', 'btn-danger'),
      ),
    );
  }

  /**
   * @param {Deployment} d
   * @param {'promote' | 'pause' | 'resume' | 'abort'} cmd
   * @param {string} label
   * @param {string} title
   * @param {string} [extra]
   */
  function commandButton(d, cmd, label, title, extra = '') {
    const button = /** @type {HTMLButtonElement} */ (
      h('button', {
        class: `btn ${extra}`,
        type: 'button',
        title,
        data: { action: cmd },
        text: label,
        onClick: async () => {
          if ((cmd === 'abort' || cmd === 'promote') && !confirm(`${label} the rollout of ${d.model_type} ${d.model_version}?`)) return;
          await command(button, `${label} ${d.model_type} ${d.model_version}`, `api/models/deployments/${encodeURIComponent(d.deployment_id)}/${cmd}`);
          invalidate(activeEl);
          refreshSoon();
        },
      })
    );
    return button;
  }

  return { refresh };
}

/** @param {Deployment} d */
function splitBar(d) {
  const canaryPct = Math.max(0, Math.min(100, d.current_percentage));
  const stable = h('div', { class: 'split-stable', title: `${d.previous_version ?? 'stable'}: ${100 - canaryPct} %` }, canaryPct < 100 ? `${d.previous_version ?? 'stable'} ${100 - canaryPct} %` : '');
  const canary = h('div', { class: 'split-canary', title: `${d.model_version}: ${canaryPct} %` }, canaryPct > 0 ? `${d.model_version} ${canaryPct} %` : '');
  // Widths through the CSSOM: the page's CSP allows no inline style attributes.
  stable.style.flexBasis = `${100 - canaryPct}%`;
  canary.style.flexBasis = `${canaryPct}%`;
  return h('div', { class: 'split', role: 'img', 'aria-label': `traffic split: ${100 - canaryPct} % stable, ${canaryPct} % canary` }, stable, canary);
}

/** @param {Deployment} d */
function stepsLine(d) {
  if (!d.step) return null;
  const step = d.step;
  return h(
    'p',
    { class: 'steps small' },
    'steps ',
    step.steps.map((s, i) => h('span', { class: i === step.index ? 'step step-current' : i < step.index ? 'step step-done' : 'step', text: `${s} %` })),
    h('span', { class: 'muted', text: ` · at this step for ${duration(step.elapsed_seconds)}` }),
  );
}

/**
 * @param {string} version
 * @param {VersionCounts} v
 * @param {Deployment} d
 */
function versionRow(version, v, d) {
  const over = v.role === 'canary' && v.step.samples > 0 && v.step.error_rate > d.config.rollback_on_error_rate;
  return h(
    'tr',
    { data: { version } },
    h('td', { class: 'mono', text: version }),
    h('td', { text: v.role }),
    h('td', { class: 'num', text: count(v.requests) }),
    h('td', { class: 'num', text: count(v.samples) }),
    h('td', { class: 'num', text: count(v.errors) }),
    h('td', { class: 'num', text: pct(v.error_rate) }),
    h('td', { class: over ? 'num warn' : 'num', text: `${count(v.step.samples)} samples · ${pct(v.step.error_rate)}` }),
  );
}

/** @param {Decision} e */
function decisionItem(e) {
  return h(
    'li',
    null,
    h('span', { class: 'muted mono', text: time(e.at) }),
    ' ',
    h('strong', { text: e.reason }),
    ' ',
    h('span', { text: e.message }),
  );
}

/** @param {Deployment[]} list */
function finishedTable(list) {
  return h(
    'details',
    { class: 'finished' },
    h('summary', { text: `Recent rollouts (${list.length})` }),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'compact' },
        h('thead', null, h('tr', null, ['type', 'version', 'strategy', 'status', 'ended', 'why'].map((t) => h('th', { text: t })))),
        h(
          'tbody',
          null,
          list.map((d) =>
            h(
              'tr',
              { data: { deploymentId: d.deployment_id } },
              h('td', { text: d.model_type }),
              h('td', { class: 'mono', text: `${d.previous_version ?? '–'} → ${d.model_version}` }),
              h('td', { text: d.strategy.replace(/_/g, ' ') }),
              h('td', null, badge(d.status)),
              h('td', { class: 'small', text: time(d.finished_at) }),
              h('td', { class: 'small', text: d.conditions.at(-1)?.message ?? '' }),
            ),
          ),
        ),
      ),
    ),
  );
}
