/**
 * Every `trinity` command, in the order `trinity --help` lists them. To add one: create
 * `commands/<name>.ts` exporting `register(program, ctx)` that calls `program.command('<name>')`
 * (so it inherits the program's output and error settings), then add it to this list.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import * as cancel from './cancel.js';
import * as config from './config.js';
import * as demo from './demo.js';
import * as deploy from './deploy.js';
import * as doctor from './doctor.js';
import * as jarvis from './jarvis.js';
import * as jobs from './jobs.js';
import * as models from './models.js';
import * as prime from './prime.js';
import * as reactor from './reactor.js';
import * as rollback from './rollback.js';
import * as status from './status.js';
import * as train from './train.js';
import * as up from './up.js';
import * as worker from './worker.js';

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMANDS: readonly RegisterCommand[] = [
  // services
  up.register,
  reactor.register,
  worker.register,
  prime.register,
  jarvis.register,
  // training
  train.register,
  status.register,
  jobs.register,
  cancel.register,
  // deployment
  models.register,
  deploy.register,
  rollback.register,
  // setup
  demo.register,
  doctor.register,
  config.register,
];
