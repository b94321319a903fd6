/** Prints benchmark figures as aligned tables, Trinity's row next to its peer's, with the command that reproduces them. */
import type { TargetRow } from './targets.js';

export interface BenchRow {
  system: string;
  [figure: string]: string | number;
}

export interface BenchResult {
  title: string;
  /** How to run just this benchmark again. */
  command: string;
  rows: BenchRow[];
  notes?: string[];
  /** Header of the first column (the rows' `system`); "system" by default. */
  firstColumn?: string;
  /** This bench's lines of the targets table, printed together after all benches (lib/targets.ts). */
  targets?: TargetRow[];
}

function cell(v: string | number | undefined): string {
  if (v === undefined) return '—';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '—';
    return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(Math.abs(v) >= 10 ? 1 : 3);
  }
  return v;
}

export function printResult(r: BenchResult): void {
  const columns = ['system', ...new Set(r.rows.flatMap((row) => Object.keys(row).filter((k) => k !== 'system')))];
  const table = [[r.firstColumn ?? 'system', ...columns.slice(1)], ...r.rows.map((row) => columns.map((c) => cell(row[c])))];
  const widths = columns.map((_, i) => Math.max(...table.map((line) => line[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(`\n## ${r.title}`);
  console.log(line(table[0]));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const row of table.slice(1)) console.log(line(row));
  for (const n of r.notes ?? []) console.log(`  ${n}`);
  console.log(`  reproduce: ${r.command}`);
}
