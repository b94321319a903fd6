/** What every soak phase shares: the cluster, the tallying client, the experience ledger and the seeded generator. */
import { join } from 'node:path';
import { Rng } from '../src/models/kernels/rng.js';
import { Actions } from './actions.js';
import { SoakClient, Tally } from './client.js';
import type { Cluster } from './cluster.js';
import { ExperienceSource, Ledger } from './experiences.js';

export interface SoakContext {
  cluster: Cluster;
  client: SoakClient;
  tally: Tally;
  actions: Actions;
  source: ExperienceSource;
  ledger: Ledger;
  rng: Rng;
  eventsDir: string;
  log: (line: string) => void;
}

export function createContext(cluster: Cluster, seed: number, log: (line: string) => void): SoakContext {
  const tally = new Tally();
  const client = new SoakClient(tally);
  return {
    cluster,
    client,
    tally,
    actions: new Actions(client, cluster),
    source: new ExperienceSource(seed),
    ledger: new Ledger(),
    rng: new Rng(seed),
    eventsDir: join(cluster.home, 'trinity/events'),
    log,
  };
}

/** A uniform integer in [lo, hi] from the run's seeded generator. */
export function between(ctx: SoakContext, lo: number, hi: number): number {
  return lo + ctx.rng.nextInt(hi - lo + 1);
}
