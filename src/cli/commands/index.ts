/**
 * Every `trinity` command, in the order `trinity --help` lists them. To add one: create
 * `commands/<name>.ts` exporting `register(program, ctx)` that calls `program.command('<name>')`
 * (so it inherits the program's output and error settings), then add it to this list.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import * as cancel from './cancel.js';
import * as config from './config.js';
import * as jobs from './jobs.js';
import * as reactor from './reactor.js';
import * as status from './status.js';
import * as train from './train.js';

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMANDS: readonly RegisterCommand[] = [
  // services
  reactor.register,
  // training
  train.register,
  status.register,
  jobs.register,
  cancel.register,
  // setup
  config.register,
];
