/**
 * Reactor's API from the page: relative URLs (so the dashboard also works behind a path prefix), the
 * bearer token on every request, and errors as `ApiError` carrying reactor's `{error, details, code}`.
 */
import { getToken } from './auth.js';
import { notify } from './notify.js';

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when reactor did not answer
   * @param {{error?: string, details?: string, code?: string}} body
   */
  constructor(status, body) {
    super(body.error ?? `HTTP ${status}`);
    this.status = status;
    this.details = body.details ?? '';
    this.code = body.code ?? '';
  }

  /** The message to show: reactor's short error, then its details when they add something. */
  describe() {
    const parts = [this.details && this.details !== this.message ? this.details : '', this.code, this.status ? `HTTP ${this.status}` : ''];
    return parts.filter(Boolean).join(' · ');
  }
}

/** @type {() => void} */
let onUnauthorized = () => {};

/**
 * Called when reactor answers 401: the token is missing or was changed on the server.
 * @param {() => void} handler
 */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/**
 * @param {string} path relative to the page, e.g. `api/training/jobs`
 * @param {{method?: 'GET' | 'POST', body?: unknown}} [opts]
 * @returns {Promise<any>}
 */
export async function api(path, opts = {}) {
  const method = opts.method ?? 'GET';
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  // Reactor's POST routes take JSON; an empty JSON object is the body of a plain command.
  const body = method === 'POST' ? JSON.stringify(opts.body ?? {}) : undefined;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, { error: 'Reactor-Core is not reachable', details: err instanceof Error ? err.message : String(err) });
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, json && typeof json === 'object' ? json : { error: `HTTP ${res.status}`, details: text.slice(0, 200) });
  }
  return json;
}

/**
 * A button's request: disables the button while it runs, shows the answer's `message` or the error.
 * @param {HTMLButtonElement} button
 * @param {string} title what is being done, e.g. "Cancel job nlu-1"
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<boolean>} true when reactor accepted the command
 */
export async function command(button, title, path, body) {
  button.disabled = true;
  button.classList.add('busy');
  try {
    const answer = await api(path, { method: 'POST', body });
    const message = answer && typeof answer.message === 'string' ? answer.message : answer && typeof answer.status === 'string' ? `status: ${answer.status}` : '';
    notify('ok', title, message);
    return true;
  } catch (err) {
    const e = err instanceof ApiError ? err : new ApiError(0, { error: String(err) });
    notify('error', `${title} failed: ${e.message}`, e.describe());
    return false;
  } finally {
    button.disabled = false;
    button.classList.remove('busy');
  }
}
