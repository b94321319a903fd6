/**
 * `trinity demo`: feeds a real data set (SNIPS intents by default) to a running JARVIS as experiences,
 * in rounds, and reports what happens next — forwarding, auto-triggered training, a new version, its
 * gradual rollout — so a new user sees the loop work within minutes. Start everything with `trinity up`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { println, type CliContext } from '../context.js';
import { action } from '../lib/action.js';
import { parseCsv } from '../../util/csv.js';

interface DemoOptions {
  csv: string;
  jarvisUrl?: string;
  rounds: string;
  perRound: string;
  watch: string;
}

const DEFAULT_CSV = fileURLToPath(new URL('../../../data/nlu-snips/train.csv', import.meta.url));

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  return res.json() as Promise<unknown>;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('feed a real data set to JARVIS as experiences and watch training and rollout happen')
    .option('--csv <file>', 'a CSV with text,intent columns', DEFAULT_CSV)
    .option('--jarvis-url <url>', 'JARVIS (default from JARVIS_HOST/JARVIS_PORT)')
    .option('--rounds <n>', 'rounds of experiences to send', '2')
    .option('--per-round <n>', 'experiences per round (auto-training needs MIN_EXPERIENCES_FOR_TRAINING)', '3000')
    .option('--watch <seconds>', 'how long to watch after each round', '90')
    .action(
      action(ctx, async (opts: DemoOptions) => {
        const config = ctx.config();
        const jarvis = opts.jarvisUrl ?? `http://${config.jarvis.host}:${config.jarvis.port}`;
        const reactor = config.reactor.url;
        const rows = parseCsv(readFileSync(resolve(opts.csv), 'utf8')).slice(1).filter((r) => r.length >= 2);
        const perRound = Number(opts.perRound);
        println(ctx.io.stdout, `demo: ${rows.length} rows from ${opts.csv}; JARVIS ${jarvis}, Reactor-Core ${reactor}`);
        for (let round = 0; round < Number(opts.rounds); round++) {
          const batch = rows.slice(round * perRound, (round + 1) * perRound).map(([text, intent], i) => ({
            id: `demo-${round}-${i}`,
            type: 'command',
            input: { text },
            expected_output: { intent },
            success: true,
          }));
          if (batch.length === 0) break;
          for (let i = 0; i < batch.length; i += 500) {
            const res = await fetch(`${jarvis}/api/experiences`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...(config.apiToken ? { authorization: `Bearer ${config.apiToken}` } : {}) },
              body: JSON.stringify({ experiences: batch.slice(i, i + 500) }),
            });
            if (!res.ok) throw new Error(`JARVIS answered ${res.status} at ${jarvis}: is it running? Start everything with \`trinity up\``);
          }
          println(ctx.io.stdout, `round ${round + 1}: sent ${batch.length} experiences to JARVIS`);
          const end = Date.now() + Number(opts.watch) * 1000;
          let last = '';
          while (Date.now() < end) {
            const queue = (await getJson(`${jarvis}/api/training/queue`).catch(() => null)) as { jobs?: { model_type: string; status: string; waiting_reason?: string }[] } | null;
            const models = (await getJson(`${reactor}/api/models/nlu`).catch(() => null)) as { stable?: string; canary?: string; canary_percentage?: number } | null;
            const job = queue?.jobs?.[0];
            const line = `  queue: ${job ? `${job.model_type} ${job.status}${job.waiting_reason ? ` (${job.waiting_reason})` : ''}` : 'empty'} | nlu stable ${models?.stable ?? '-'}${models?.canary ? `, canary ${models.canary} at ${models.canary_percentage} %` : ''}`;
            if (line !== last) println(ctx.io.stdout, line);
            last = line;
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        println(ctx.io.stdout, `done. Open ${reactor}/ for the dashboard; predict with: curl -s ${config.prime.url}/api/predict/nlu -H 'content-type: application/json' -d '{"input":{"text":"play some jazz"},"session_id":"me"}'`);
      }),
    );
}
