/**
 * The dashboard's entry point: settle the API token, then refresh every section every 2 s. Charts do
 * not wait for the refresh: each job card streams its own events.
 */
import { api, ApiError, setUnauthorizedHandler } from './api.js';
import { askForToken, getToken, setToken, takeTokenFromUrl } from './auth.js';
import { byId, h, replaceChildren } from './dom.js';
import { createJobsSection } from './jobs.js';
import { createModelsSection } from './models.js';
import { createQueueSection } from './queue.js';
import { createRolloutsSection } from './rollouts.js';

const REFRESH_MS = 2_000;

/**
 * Reads reactor's dashboard settings, asking for the token until reactor accepts it.
 * @returns {Promise<{version: string, jarvis_url: string, prime_url: string, auth_required: boolean}>}
 */
async function authenticate() {
  takeTokenFromUrl();
  for (;;) {
    let config;
    try {
      config = await api('api/dashboard/config');
    } catch (err) {
      showBanner(err instanceof ApiError ? `${err.message}: ${err.describe()}` : String(err));
      await new Promise((r) => setTimeout(r, REFRESH_MS));
      continue;
    }
    if (!config.auth_required || config.token_valid) return config;
    const message = getToken()
      ? 'Reactor-Core refused that token. Enter the TRINITY_API_TOKEN it was started with.'
      : 'Reactor-Core needs its API token (TRINITY_API_TOKEN). It is kept in this tab only.';
    setToken(await askForToken(message));
  }
}

/** @param {string} text empty to hide */
function showBanner(text) {
  const banner = byId('banner');
  banner.textContent = text;
  banner.hidden = !text;
}

/**
 * @param {string} id
 * @param {string} name
 * @param {'ok' | 'warn' | 'down'} state
 * @param {string} text
 * @param {string} [title]
 */
function setService(id, name, state, text, title) {
  replaceChildren(byId(id), h('span', { class: `dot dot-${state}` }), h('strong', { text: name }), ` ${text}`);
  byId(id).title = title ?? '';
}

async function main() {
  const config = await authenticate();
  byId('version').textContent = `v${config.version}`;
  byId('token-button').hidden = !config.auth_required;
  byId('token-button').addEventListener('click', () => {
    setToken('');
    location.reload();
  });
  setUnauthorizedHandler(() => {
    // The token changed on the server: ask again, then refresh everything with the new one.
    void askForToken('Reactor-Core refused the token. Enter the current TRINITY_API_TOKEN.').then((t) => {
      setToken(t);
      location.reload();
    });
  });

  let timer = 0;
  let running = false;
  let again = false;
  const refreshSoon = () => {
    if (running) again = true;
    else {
      clearTimeout(timer);
      void tick();
    }
  };
  const jobs = createJobsSection(refreshSoon);
  const queue = createQueueSection();
  const models = createModelsSection(refreshSoon);
  const rollouts = createRolloutsSection(refreshSoon);

  async function readPrime() {
    const prime = await api('api/dashboard/prime');
    const status = prime.health?.status;
    if (!prime.enabled) setService('svc-prime', 'J-Prime', 'warn', 'disabled');
    else if (!prime.reachable) setService('svc-prime', 'J-Prime', 'down', 'not reachable', prime.error ?? prime.source);
    else setService('svc-prime', 'J-Prime', status === 'healthy' ? 'ok' : 'warn', `${status ?? '?'} · ${prime.health?.active_requests ?? 0} active requests`, prime.source);
    return prime;
  }

  async function readHealth() {
    const health = await api('api/health');
    setService('svc-reactor', 'Reactor-Core', health.status === 'healthy' ? 'ok' : 'warn', `${health.status} · ${health.active_training_jobs ?? 0} training`);
    return health;
  }

  async function readQueue() {
    const answer = await queue.refresh();
    if (answer.reachable) setService('svc-jarvis', 'JARVIS', 'ok', `queue ${answer.queue?.length ?? 0}`, answer.source);
    else setService('svc-jarvis', 'JARVIS', 'down', 'not reachable', answer.error ?? answer.source);
  }

  async function tick() {
    running = true;
    const prime = readPrime();
    const results = await Promise.allSettled([
      readHealth(),
      jobs.refresh(),
      readQueue(),
      rollouts.refresh(),
      prime.then((p) => models.refresh(p), () => models.refresh(null)),
    ]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed && failed.status === 'rejected') {
      const err = failed.reason;
      if (err instanceof ApiError && err.status === 503) showBanner('Reactor-Core is starting…');
      else if (err instanceof ApiError && err.status === 0) {
        showBanner('Reactor-Core is not reachable; retrying every 2 s.');
        setService('svc-reactor', 'Reactor-Core', 'down', 'not reachable');
      } else showBanner(err instanceof ApiError ? `${err.message}: ${err.describe()}` : String(err));
    } else showBanner('');
    byId('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    running = false;
    if (again) {
      again = false;
      void tick();
    } else timer = window.setTimeout(() => void tick(), REFRESH_MS);
  }

  await tick();
}

void main();
