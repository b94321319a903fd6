/**
 * Telling a wait that will end from one that cannot: JARVIS holds a job back while memory is short and
 * says by how much (docs/jarvis.md, "Waiting reasons"). When the memory asked for is more than the machine
 * or MAX_TOTAL_MEMORY_GB could ever offer, no amount of waiting helps, and the demo says so at once
 * instead of watching a job that never starts. Pure, so every reason form is tested without services.
 */

export interface HostFacts {
  /** The host's total memory in GB (JARVIS's /api/resources), if known. */
  hostTotalGb: number | null;
}

const NUMBER = String.raw`(\d+(?:\.\d+)?)`;
/** `host has 3.2 GB available < 40 GB (TRAINING_MEMORY_RESERVE_GB)` */
const HOST_SHORT = new RegExp(String.raw`host has ${NUMBER} GB available < ${NUMBER} GB(?: \(([A-Z_]+)\))?`);
/** `5.1 GB free < 40 GB (MAX_TOTAL_MEMORY_GB 64 − J-Prime 38 − Reactor-Core 20.9)` */
const BUDGET_SHORT = new RegExp(String.raw`${NUMBER} GB free < ${NUMBER} GB \(MAX_TOTAL_MEMORY_GB ${NUMBER}`);

export interface Hopeless {
  /** Why the wait cannot end. */
  why: string;
  /** What to change. */
  fix: string;
}

/** Why `reason` can never clear, or null when it may. */
export function hopelessWait(reason: string, facts: HostFacts): Hopeless | null {
  const host = HOST_SHORT.exec(reason);
  if (host && facts.hostTotalGb !== null) {
    const needed = Number(host[2]);
    if (needed > facts.hostTotalGb) {
      const setting = host[3] ?? 'TRAINING_MEMORY_RESERVE_GB';
      return {
        why: `the job waits until the host has ${needed} GB of memory available, but this machine has ${round(facts.hostTotalGb)} GB in all, so it will never start`,
        fix: `lower ${setting} below ${round(facts.hostTotalGb)} and restart \`npx trinity up\``,
      };
    }
  }
  const budget = BUDGET_SHORT.exec(reason);
  if (budget) {
    const needed = Number(budget[2]);
    const max = Number(budget[3]);
    if (needed > max) {
      return {
        why: `the job waits for ${needed} GB of MAX_TOTAL_MEMORY_GB ${max}, so it will never start`,
        fix: 'raise MAX_TOTAL_MEMORY_GB or lower what training reserves, and restart `npx trinity up`',
      };
    }
  }
  return null;
}

function round(gb: number): number {
  return Math.round(gb * 10) / 10;
}
