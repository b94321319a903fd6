/**
 * Tiny DOM helpers: the page builds its elements with `h()` instead of HTML strings, so text from the
 * API (job ids, error messages) can never turn into markup.
 */

/** @typedef {Node | string | number | null | undefined | false} Leaf */
/** @typedef {Leaf | Leaf[] | Leaf[][]} Child */

/**
 * Creates an element. `props`: `class`, `text`, `title`, `hidden`, `disabled`, `on<Event>` handlers,
 * `data` (dataset entries) and anything else as an attribute.
 * @param {string} tag
 * @param {Record<string, unknown> | null} [props]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'data') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
    else if (key === 'hidden' || key === 'disabled') /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (el))[key] = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/**
 * @param {Node} parent
 * @param {unknown[]} children nested arrays of Child
 */
function append(parent, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * Replaces the children of `el`.
 * @param {Element} el
 * @param {...Child} children
 */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el;
}

/**
 * A status word as a coloured badge; the colour comes from `.badge-<status>` in styles.css.
 * @param {string} status
 */
export function badge(status) {
  return h('span', { class: `badge badge-${status.replace(/[^a-z_-]/gi, '')}`, data: { field: 'status' }, text: status.replace(/_/g, ' ') });
}

/**
 * Renders a section only when its data changed, so hovering, text selection and open <details> survive
 * the 2 s refresh when nothing happened.
 * @param {HTMLElement} el
 * @param {unknown} data
 * @param {() => Child} render
 */
export function renderIfChanged(el, data, render) {
  const key = JSON.stringify(data);
  if (el.dataset.renderKey === key) return;
  el.dataset.renderKey = key;
  replaceChildren(el, render());
}

/**
 * Forces the next `renderIfChanged` to render, e.g. after a button's request ended.
 * @param {HTMLElement} el
 */
export function invalidate(el) {
  delete el.dataset.renderKey;
}
