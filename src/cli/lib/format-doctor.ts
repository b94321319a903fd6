/** `trinity doctor`'s lines, in `trinity up`'s style: `  ✓ name: detail`, and `→ fix` after a problem. */
import type { CheckResult, CheckStatus } from '../../doctor/index.js';
import { paint } from '../../supervisor/index.js';

const MARKS: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };
const COLOURS = { ok: 'green', warn: 'yellow', fail: 'red' } as const;

/** `name: detail → fix`, without the mark (trinity up lists the blocking ones under its summary). */
export function describeCheck(r: CheckResult): string {
  return `${r.name}: ${r.detail}${r.fix ? ` → ${r.fix}` : ''}`;
}

export function formatCheck(r: CheckResult, colour = false): string {
  return `  ${paint(colour, COLOURS[r.status], MARKS[r.status])} ${describeCheck(r)}`;
}

/** Every check, then one line saying whether anything stops training. */
export function formatDoctor(results: readonly CheckResult[], colour = false): string[] {
  const fails = results.filter((r) => r.status === 'fail').length;
  const warns = results.filter((r) => r.status === 'warn').length;
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const end =
    fails > 0
      ? paint(colour, 'red', `✗ ${plural(fails, 'problem stops', 'problems stop')} training on this machine`)
      : paint(colour, warns > 0 ? 'yellow' : 'green', `✓ nothing stops training on this machine${warns > 0 ? ` (${plural(warns, 'warning', 'warnings')})` : ''}`);
  return [...results.map((r) => formatCheck(r, colour)), '', end];
}
