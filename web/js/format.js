/** Number, time and duration formatting shared by the sections. */

const NUMBER = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/**
 * @param {unknown} v
 * @param {number} [digits]
 */
export function num(v, digits = 3) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 1000) return NUMBER.format(v);
  // A loss of 0.0004 is not 0: small values keep two significant digits.
  if (v !== 0 && Math.abs(v) < 10 ** -digits) return v.toPrecision(2);
  return String(Number(v.toFixed(digits)));
}

/**
 * A fraction 0–1 as a percentage.
 * @param {unknown} v
 * @param {number} [digits]
 */
export function pct(v, digits = 1) {
  return typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(digits)} %` : '–';
}

/** @param {unknown} v */
export function count(v) {
  return typeof v === 'number' && Number.isFinite(v) ? NUMBER.format(v) : '–';
}

/**
 * Seconds as "1 h 5 min", "4 min 10 s", "12 s".
 * @param {unknown} s
 */
export function duration(s) {
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) return '–';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/**
 * An ISO time as the local clock time, with the date when it is not today.
 * @param {unknown} iso
 */
export function time(iso) {
  if (typeof iso !== 'string') return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

/**
 * "3 min ago" for an ISO time.
 * @param {unknown} iso
 */
export function ago(iso) {
  if (typeof iso !== 'string') return '–';
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  return Number.isFinite(s) ? `${duration(Math.max(0, s))} ago` : '–';
}
