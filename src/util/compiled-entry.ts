/** Where a thread's or child process's entry file is: they always run the compiled dist/ files. */
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The compiled `fileName` next to the module at `moduleUrl`. Tests run src/*.ts through vitest; then the
 * sibling is looked up in dist/ at the same place (`npm run build` makes it).
 */
export function compiledSibling(moduleUrl: string, fileName: string): string {
  const here = fileURLToPath(moduleUrl);
  let dir = `${dirname(here)}${sep}`;
  const at = dir.lastIndexOf(`${sep}src${sep}`);
  if (here.endsWith('.ts') && at >= 0) dir = `${dir.slice(0, at)}${sep}dist${sep}${dir.slice(at + 5)}`;
  const entry = join(dir, fileName);
  if (!existsSync(entry)) throw new Error(`${entry} is missing; run \`npm run build\``);
  return entry;
}
