/** The soak's figures, each next to its target, printed as one table with misses marked. */

export interface Row {
  figure: string;
  value: number | string;
  /** Human text of the target, e.g. "0" or "≤ 10 %". */
  target: string;
  /** null: information only, no target. */
  ok: boolean | null;
}

export const zeroRow = (figure: string, value: number): Row => ({ figure, value, target: '0', ok: value === 0 });

export function printTable(title: string, rows: readonly Row[], print: (line: string) => void): void {
  const cells = rows.map((r) => [r.figure, typeof r.value === 'number' ? formatNumber(r.value) : r.value, r.target, r.ok === null ? '' : r.ok ? 'ok' : 'MISS']);
  const head = ['figure', 'value', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
  print(`\n${title}\n`);
  print(line(head));
  print(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const c of cells) print(line(c));
  const misses = rows.filter((r) => r.ok === false).length;
  print(misses === 0 ? '\nall targets met' : `\n${misses} target(s) missed`);
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Number.isInteger(n) ? String(n) : n.toFixed(Math.abs(n) < 10 ? 2 : 1);
}
