/**
 * The demo's experiences: a `text,intent` CSV, shuffled with a fixed seed and cut into rounds. Data sets
 * are often sorted by label (SNIPS is); sent in file order, a round would hold two intents and the model
 * would learn that everything is one of them. Shuffled, every round covers every intent, and the same
 * seed gives the same rounds on every run.
 */
import { readFileSync } from 'node:fs';
import { Rng } from '../../../models/kernels/rng.js';
import { parseCsv } from '../../../util/csv.js';
import { CliUsageError } from '../errors.js';

/** Any fixed value works; this one keeps the README's figures reproducible. */
export const DEMO_SEED = 42;

export interface DemoRow {
  text: string;
  intent: string;
}

export interface DemoRound {
  /** 1-based. */
  number: number;
  /** Rows `from`..`to` (1-based, inclusive) of the shuffled data. */
  from: number;
  to: number;
  experiences: Record<string, unknown>[];
  /** Experiences per intent in this round. */
  intents: Map<string, number>;
}

export function readDemoCsv(path: string): DemoRow[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliUsageError(`cannot read --csv ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, err);
  }
  const [header, ...records] = parseCsv(text);
  const textCol = header?.indexOf('text') ?? -1;
  const intentCol = header?.indexOf('intent') ?? -1;
  if (textCol < 0 || intentCol < 0) throw new CliUsageError(`--csv ${path} needs a header row with "text" and "intent" columns, got ${JSON.stringify(header ?? [])}`);
  const rows = records.map((r) => ({ text: (r[textCol] ?? '').trim(), intent: (r[intentCol] ?? '').trim() })).filter((r) => r.text !== '' && r.intent !== '');
  if (rows.length === 0) throw new CliUsageError(`--csv ${path} has no rows with both a text and an intent`);
  return rows;
}

/**
 * Up to `rounds` rounds of `perRound` experiences from `rows` shuffled with `seed`; fewer when the rows
 * run out. Ids carry `runId` so a second run of the demo on the same home sends new experiences rather
 * than repeats, which Reactor-Core would ignore (an experience's identity is its id).
 */
export function demoRounds(rows: readonly DemoRow[], o: { rounds: number; perRound: number; seed: number; runId: string }): DemoRound[] {
  const order = Array.from(rows.keys());
  new Rng(o.seed).shuffle(order);
  const out: DemoRound[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const picked = order.slice(r * o.perRound, (r + 1) * o.perRound);
    if (picked.length === 0) break;
    const intents = new Map<string, number>();
    const experiences = picked.map((i) => {
      const { text, intent } = rows[i];
      intents.set(intent, (intents.get(intent) ?? 0) + 1);
      return { id: `demo-${o.runId}-${i}`, type: 'command', input: { text }, expected_output: { intent }, success: true };
    });
    out.push({ number: r + 1, from: r * o.perRound + 1, to: r * o.perRound + picked.length, experiences, intents });
  }
  return out;
}
