/** The coordinator's parts wired from an environment, in this process, on a temporary home. */
import { join } from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import type { CoordinatorJob } from '../../src/coordinator/index.js';
import { assembleCoordinator, type CoordinatorParts } from '../../src/jarvis/index.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteSql } from '../../src/store/sql.js';
import { tempHome, waitFor } from '../helpers/processes.js';
import { FAST_JARVIS_ENV } from '../jarvis/fakes.js';

export interface Harness {
  home: string;
  parts: CoordinatorParts;
  /** Waits until the job has finished (completed or failed) and returns it. */
  finished(jobId: string, timeoutMs?: number): Promise<CoordinatorJob>;
  close(): Promise<void>;
}

export function startCoordinator(env: Record<string, string>, o: { home?: string; instanceId?: string; start?: boolean; hostAvailableBytes?: () => number } = {}): Harness {
  const home = o.home ?? tempHome('trinity-coord-');
  const config = parseConfig({ JARVIS_HOME: home, ...FAST_JARVIS_ENV, ...env });
  const db = openDatabase({ path: join(home, 'trinity.db') });
  const parts = assembleCoordinator(config, new SqliteSql(db), o.instanceId ?? 'test-instance', { hostAvailableBytes: o.hostAvailableBytes });
  if (o.start !== false) parts.worker.start();
  return {
    home,
    parts,
    finished: (jobId, timeoutMs = 10_000) =>
      waitFor(
        async () => {
          const j = await parts.store.get(jobId);
          return j && (j.status === 'completed' || j.status === 'failed') ? j : null;
        },
        timeoutMs,
        `job ${jobId} to finish`,
        20,
      ),
    close: async () => {
      await parts.auto.close();
      await parts.worker.close();
      parts.lock.close();
      db.close();
    },
  };
}
