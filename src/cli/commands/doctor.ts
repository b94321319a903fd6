/** `trinity doctor`: what would stop training on this machine, each problem with its fix; exit 1 if anything does. */
import type { Command } from 'commander';
import { blocksTraining, gatherFacts, runChecks } from '../../doctor/index.js';
import { println, type CliContext } from '../context.js';
import { action } from '../lib/action.js';
import { EXIT } from '../lib/exit-codes.js';
import { formatDoctor } from '../lib/format-doctor.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('check this machine for what would stop training (memory, disk, ports, Node, settings), each with its fix')
    .option('--json', 'print the checks as JSON')
    .action(
      action(ctx, async (opts: { json?: boolean }) => {
        const results = runChecks(await gatherFacts(ctx.config(), ctx.io.env, { reactor: ctx.reactor() }));
        const out = ctx.io.stdout;
        if (opts.json) println(out, JSON.stringify({ blocks_training: blocksTraining(results), checks: results }, null, 2));
        else for (const line of formatDoctor(results, out.isTTY === true && !ctx.io.env.NO_COLOR)) println(out, line);
        return blocksTraining(results) ? EXIT.FAILED : EXIT.OK;
      }),
    );
}
