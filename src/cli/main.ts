/** Entry point of the `trinity` binary (bin/trinity.js imports the compiled dist/cli/main.js). */
import { runCli } from './program.js';

// `trinity config | head`: the reader left, nothing more to say; without this Node throws EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const code = await runCli(process.argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
// exitCode rather than exit(): let stdout drain when it is a pipe.
process.exitCode = code;
