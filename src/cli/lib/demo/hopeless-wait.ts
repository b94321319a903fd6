/**
 * Telling a wait that will end from one that cannot: JARVIS holds a job back while memory is short and
 * says by how much and where the figure comes from (docs/jarvis.md, "Waiting reasons"). When the memory
 * asked for is more than the machine or MAX_TOTAL_MEMORY_GB could ever offer, no amount of waiting helps,
 * and the demo says so at once instead of watching a job that never starts. Pure, so every reason form is
 * tested without services.
 */

export interface HostFacts {
  /** The host's total memory in GB (JARVIS's /api/resources), if known. */
  hostTotalGb: number | null;
}

export interface Hopeless {
  /** Why the wait cannot end. */
  why: string;
  /** What to change. */
  fix: string;
}

const N = String.raw`(\d+(?:\.\d+)?)`;
/**
 * `host has 3.2 GB available < 40 GB (TRAINING_MEMORY_RESERVE_GB)`, or with the need's source:
 * `host has 3.2 GB available < 0.4 GB needed (nlu estimate)`.
 */
const HOST_SHORT = new RegExp(String.raw`^host has ${N} GB available < ${N} GB(?: needed)?(?: \((.*)\))?$`);
/** `5.1 GB free < 40 GB (MAX_TOTAL_MEMORY_GB 64 − …)`, or `5.1 GB free < 40 GB needed (…): MAX_TOTAL_MEMORY_GB 64 − …` */
const BUDGET_SHORT = new RegExp(String.raw`^${N} GB free < ${N} GB.*MAX_TOTAL_MEMORY_GB ${N}`);
const SETTING = /^[A-Z][A-Z0-9_]*$/;

/** Why `reason` can never clear, or null when it may. Each `; `-separated part is one condition. */
export function hopelessWait(reason: string, facts: HostFacts): Hopeless | null {
  for (const part of reason.split('; ')) {
    const found = hostTooSmall(part, facts) ?? budgetTooSmall(part);
    if (found) return found;
  }
  return null;
}

function hostTooSmall(part: string, facts: HostFacts): Hopeless | null {
  const m = HOST_SHORT.exec(part);
  if (!m || facts.hostTotalGb === null) return null;
  const needed = Number(m[2]);
  const total = round(facts.hostTotalGb);
  if (needed <= facts.hostTotalGb) return null;
  const source = m[3] ?? 'TRAINING_MEMORY_RESERVE_GB';
  const why = `the job waits until the host has ${needed} GB of memory available (${source}), but this machine has ${total} GB in all, so it will never start`;
  if (SETTING.test(source)) return { why, fix: `lower ${source} below ${total} and restart \`npx trinity up\`` };
  if (/^\w+ estimate$/.test(source)) return { why, fix: 'train on a machine with more memory, or send fewer experiences (--per-round)' };
  return { why, fix: `set TRAINING_MEMORY_RESERVE_GB below ${total} and restart \`npx trinity up\`` };
}

function budgetTooSmall(part: string): Hopeless | null {
  const m = BUDGET_SHORT.exec(part);
  if (!m) return null;
  const needed = Number(m[2]);
  const max = Number(m[3]);
  if (needed <= max) return null;
  return {
    why: `the job waits for ${needed} GB of MAX_TOTAL_MEMORY_GB ${max}, so it will never start`,
    fix: 'raise MAX_TOTAL_MEMORY_GB or lower what training reserves, and restart `npx trinity up`',
  };
}

function round(gb: number): number {
  return Math.round(gb * 10) / 10;
}
