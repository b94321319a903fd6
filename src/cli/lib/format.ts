/** Small text formatters shared by the command outputs. Pure, so they are tested without a terminal. */

/** `0.4123` → `"0.4123"`; null/undefined → `"–"` so a missing metric never prints "undefined". */
export function fmtNum(v: number | null | undefined, digits = 4): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–';
}

/** Seconds → `12s`, `3m04s`, `1h02m`; missing → `–`. */
export function fmtDuration(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A time the reactor sent (ISO string or unix seconds) → ISO string; missing → `–`. */
export function fmtTime(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return '–';
  if (typeof v === 'number') return new Date(v * 1000).toISOString();
  return v;
}

/** `KEY  value` lines with the values aligned two spaces after the longest key. */
export function alignPairs(pairs: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`.trimEnd());
}

/** Rows under a header, each column as wide as its widest cell. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
