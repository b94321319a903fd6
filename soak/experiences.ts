/**
 * Synthetic intent experiences with a unique nonce each (in `metadata.soak_nonce`), and the ledger of
 * which were sent and acknowledged, by which path. Half carry an explicit `id`, half rely on reactor's
 * content identity, so a duplicate under a second id would show as one nonce stored twice.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/models/kernels/rng.js';
import type { SoakClient } from './client.js';
import { sleep } from './cluster.js';
import { acknowledges, type ProbeExperience } from './probe-process.js';

const INTENTS: Record<string, readonly string[]> = {
  PlayMusic: ['play {a}', 'put on some {g} music', 'play the latest album by {a}', 'i want to hear {g} by {a}'],
  GetWeather: ['what is the weather in {c}', 'will it rain in {c} {d}', 'how cold is it in {c} {d}', 'forecast for {c}'],
  SetAlarm: ['wake me up at {t}', 'set an alarm for {t} {d}', 'alarm at {t} please', 'remind me at {t}'],
  BookRestaurant: ['book a table for {n} in {c}', 'reserve a {g} restaurant for {n} people', 'find me a table for {n} {d}', 'dinner reservation in {c}'],
};
const SLOTS: Record<string, readonly string[]> = {
  a: ['miles davis', 'nina simone', 'daft punk', 'bach', 'the beatles', 'bjork', 'radiohead'],
  g: ['jazz', 'rock', 'classical', 'techno', 'folk', 'italian', 'thai'],
  c: ['paris', 'berlin', 'tokyo', 'lagos', 'lima', 'oslo', 'austin'],
  d: ['today', 'tomorrow', 'on friday', 'this weekend', 'tonight'],
  t: ['6 am', '7:30', 'noon', '5 pm', '10 in the evening'],
  n: ['two', 'four', 'six', '3', '8'],
};
export const INTENT_NAMES = Object.keys(INTENTS);

export type Path = 'reactor-http' | 'jarvis-http' | 'events-file';

export type SoakExperience = ProbeExperience;

/** A deterministic stream of experiences for one seed. */
export class ExperienceSource {
  private readonly rng: Rng;
  private n = 0;

  constructor(private readonly seed: number) {
    this.rng = new Rng(seed);
  }

  text(): { text: string; intent: string } {
    const intent = INTENT_NAMES[this.rng.nextInt(INTENT_NAMES.length)];
    const templates = INTENTS[intent];
    const text = templates[this.rng.nextInt(templates.length)].replace(/\{(\w)\}/g, (_m, k: string) => SLOTS[k][this.rng.nextInt(SLOTS[k].length)]);
    return { text, intent };
  }

  next(): SoakExperience {
    const nonce = `s${this.seed}-${this.n++}`;
    const { text, intent } = this.text();
    const e: SoakExperience = { type: 'command', input: { text }, expected_output: { intent }, success: true, metadata: { soak_nonce: nonce } };
    if (this.n % 2 === 0) e.id = `soak-${nonce}`;
    return e;
  }

  batch(size: number): SoakExperience[] {
    return Array.from({ length: size }, () => this.next());
  }
}

export class Ledger {
  /** nonce → the path it was acknowledged on. */
  readonly acked = new Map<string, Path>();
  sent = 0;
  /** Batches that never got an acknowledgement after every retry: not counted as lost. */
  unacked = 0;

  ack(batch: readonly SoakExperience[], path: Path): void {
    for (const e of batch) this.acked.set(e.metadata.soak_nonce, path);
  }
}

/** Retries of one batch while its service restarts; the same batch again, as a real client would. */
const POST_ATTEMPTS = 20;
const POST_RETRY_MS = 250;

/** POSTs a batch to reactor or jarvis until it is acknowledged (or gives up) and records it. */
export async function postBatch(client: SoakClient, ledger: Ledger, path: 'reactor-http' | 'jarvis-http', baseUrl: string, batch: SoakExperience[], stop?: () => boolean): Promise<boolean> {
  ledger.sent += batch.length;
  const api = path === 'reactor-http' ? 'reactor POST /api/experiences' : 'jarvis POST /api/experiences';
  for (let attempt = 0; attempt < POST_ATTEMPTS; attempt++) {
    const a = await client.post(api, `${baseUrl}/api/experiences`, { experiences: batch });
    if (a.status === 200 && acknowledges(path, a.body, batch.length)) {
      ledger.ack(batch, path);
      return true;
    }
    if (a.status >= 400 && a.status < 500) break;
    if (stop?.()) break;
    await sleep(POST_RETRY_MS);
  }
  ledger.unacked += batch.length;
  return false;
}

let fileSeq = 0;

/** Writes a batch into the events folder the way JARVIS does (temp name, then rename): acknowledged once renamed. */
export function dropBatchFile(eventsDir: string, ledger: Ledger, batch: SoakExperience[], form: 'batch' | 'jsonl'): void {
  ledger.sent += batch.length;
  const name = `soak_${process.pid}_${fileSeq++}_${Date.now()}`;
  const text =
    form === 'jsonl'
      ? batch.map((e) => JSON.stringify(e)).join('\n') + '\n'
      : JSON.stringify({ batch_id: name, model_type: 'nlu', experiences: batch, created_at: Date.now() / 1000 });
  const final = join(eventsDir, `${name}.${form === 'jsonl' ? 'jsonl' : 'json'}`);
  const tmp = join(eventsDir, `.${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, final);
  ledger.ack(batch, 'events-file');
}
