/**
 * The API token (TRINITY_API_TOKEN). Reactor says whether it needs one and whether the one we send is
 * right (`GET /api/dashboard/config`); the page asks for it once and keeps it in sessionStorage, so it
 * lives as long as the tab and never lands in a file or in another site's reach.
 */
import { byId } from './dom.js';

const STORAGE_KEY = 'trinity.apiToken';

/** @returns {string} the token, or '' without one */
export function getToken() {
  return sessionStorage.getItem(STORAGE_KEY) ?? '';
}

/** @param {string} token */
export function setToken(token) {
  if (token) sessionStorage.setItem(STORAGE_KEY, token);
  else sessionStorage.removeItem(STORAGE_KEY);
}

/**
 * Takes `?token=` from the page's URL into sessionStorage and removes it from the address bar, so it is
 * not left in the history or in a screenshot.
 */
export function takeTokenFromUrl() {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (token === null) return;
  setToken(token.trim());
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url);
}

/** @type {Promise<string> | null} */
let asking = null;

/**
 * Shows the token dialog and resolves with what the user entered. Concurrent callers share one dialog.
 * @param {string} message why we ask (first time, or the last token was refused)
 * @returns {Promise<string>}
 */
export function askForToken(message) {
  asking ??= new Promise((resolve) => {
    const dialog = /** @type {HTMLDialogElement} */ (byId('token-dialog'));
    const input = /** @type {HTMLInputElement} */ (byId('token-input'));
    byId('token-message').textContent = message;
    input.value = '';
    // Without a token the page can do nothing useful, so Escape does not close the dialog.
    const onCancel = (/** @type {Event} */ e) => e.preventDefault();
    const onSubmit = (/** @type {SubmitEvent} */ e) => {
      e.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      dialog.removeEventListener('cancel', onCancel);
      dialog.removeEventListener('submit', onSubmit);
      dialog.close();
      asking = null;
      resolve(token);
    };
    dialog.addEventListener('cancel', onCancel);
    dialog.addEventListener('submit', onSubmit);
    dialog.showModal();
    input.focus();
  });
  return asking;
}
