/** `trinity <service>` processes for the benches: started on a free port, found by their "listening on port N" line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './data.js';

export const BIN = join(projectRoot(), 'bin/trinity.js');

export interface Launched {
  proc: ChildProcess;
  port: number;
  url: string;
  /** Everything it printed so far. */
  output: () => string;
}

/** Runs `node <args>` (a service entry) and resolves once it prints its port. */
export function launch(args: string[], env: Record<string, string>): Promise<Launched> {
  const proc = spawn(process.execPath, args, { env: { ...process.env, LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on port (\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]), url: `http://127.0.0.1:${m[1]}`, output: () => out });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${out}`)));
  });
}

/** Polls `check` every 200 ms until it is true; throws after `ms`. */
export async function until(check: () => Promise<boolean>, what: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
