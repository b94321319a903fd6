/**
 * Which process holds something (a lease, a lock file), and whether that process is provably gone. A pid
 * only means something on the machine, boot and pid namespace it came from, so the host names all three;
 * a holder on another host is never judged dead from here. The start time (/proc, Linux) tells a reused
 * pid from the holder.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { readStat } from './proc.js';

export interface ProcessIdentity {
  /** hostname, boot id and pid namespace; '' parts where the system does not tell. */
  host: string;
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22); null where unknown. */
  startTime: number | null;
}

function readOr(read: () => string): string {
  try {
    return read().trim();
  } catch {
    return '';
  }
}

const HOST = [
  hostname(),
  readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
  readOr(() => readlinkSync('/proc/self/ns/pid')),
].join(' ');

export function thisHost(): string {
  return HOST;
}

export function thisProcess(): ProcessIdentity {
  return { host: HOST, pid: process.pid, startTime: readStat(process.pid)?.startTime ?? null };
}

/** True while `pid` runs and, when `startTime` is known, is still the process that started then. */
export function isRunning(pid: number, startTime: number | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = readStat(pid);
  if (stat && (stat.state === 'Z' || stat.state === 'X')) return false;
  return startTime === null || stat === null || stat.startTime === startTime;
}

/** True only when `p` ran on this host and has ended (its pid is gone, a zombie, or now another process). */
export function isGone(p: ProcessIdentity): boolean {
  return p.host === HOST && !isRunning(p.pid, p.startTime);
}
