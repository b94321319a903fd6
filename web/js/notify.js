/** Toasts: what a button did, or the API's error message when it failed. */
import { byId, h } from './dom.js';

const SUCCESS_MS = 5_000;
/** Errors stay longer: the user has to read the reason. */
const ERROR_MS = 15_000;

/**
 * @param {'ok' | 'error'} kind
 * @param {string} title
 * @param {string} [text]
 */
export function notify(kind, title, text) {
  const toast = h(
    'div',
    { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('div', { class: 'toast-body' }, h('strong', { text: title }), text ? h('div', { class: 'toast-text', text }) : null),
    h('button', { class: 'toast-close', type: 'button', 'aria-label': 'dismiss', text: '×', onClick: () => toast.remove() }),
  );
  byId('toasts').appendChild(toast);
  setTimeout(() => toast.remove(), kind === 'error' ? ERROR_MS : SUCCESS_MS);
}
