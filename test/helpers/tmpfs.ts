/**
 * Small real filesystems for disk-trouble tests: a tmpfs of a given size (to fill up) that can be remounted
 * read-only. Mounting needs root (or CAP_SYS_ADMIN); `mountRefusal()` tries once and says why it cannot, so
 * a test can skip with that reason. Root ignores chmod, so a mount is the only honest read-only folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmdirSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(...args: string[]): void {
  execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

function why(err: unknown): string {
  const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
  return (stderr || (err as Error).message).split('\n')[0];
}

/** Null when a tmpfs can be mounted here, else the reason it cannot (for a skipped test's name). */
export function mountRefusal(): string | null {
  if (process.platform !== 'linux') return `tmpfs mounts need Linux, this is ${process.platform}`;
  const dir = mkdtempSync(join(tmpdir(), 'trinity-mount-probe-'));
  try {
    run('mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir);
  } catch (err) {
    rmdirSync(dir);
    return `cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): ${why(err)}`;
  }
  run('umount', dir);
  rmdirSync(dir);
  return null;
}

export interface Tmpfs {
  dir: string;
  /** Remounts read-only or writable again, in place (open folders stay valid). */
  remount(mode: 'ro' | 'rw'): void;
  /** Bytes a non-root writer could still write. */
  free(): number;
  /** Writes `path` until at most `leaveBytes` are free (0: until the disk is full). */
  fill(path: string, leaveBytes?: number): void;
  /** Unmounts (lazily if something still holds it) and removes the mount point; safe to call twice. */
  unmount(): void;
}

export function mountTmpfs(prefix: string, sizeBytes: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  run('mount', '-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir);
  let mounted = true;
  const free = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    remount: (mode) => run('mount', '-o', `remount,${mode}`, dir),
    free,
    fill(path, leaveBytes = 0) {
      const fd = openSync(path, 'a', 0o600);
      try {
        for (;;) {
          const chunk = Math.min(1 << 20, Math.floor((free() - leaveBytes) / 4096) * 4096);
          if (chunk <= 0) return;
          try {
            writeSync(fd, Buffer.alloc(chunk, 1));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
            throw err;
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    unmount() {
      if (!mounted) return;
      try {
        run('umount', dir);
      } catch {
        run('umount', '-l', dir); // still busy: detach now, the kernel frees it when the last user goes
      }
      mounted = false;
      rmdirSync(dir);
    },
  };
}
