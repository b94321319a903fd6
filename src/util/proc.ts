/**
 * Memory and CPU figures of processes and the host, from /proc (Linux), with portable fallbacks.
 * Used by every service's /api/resources and state file.
 */
import { readFileSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';

const GB = 1024 ** 3;

/** Resident memory of a process in bytes (0 when it is gone). */
export function rssBytes(pid: number): number {
  if (pid === process.pid) return process.memoryUsage.rss();
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process has used, in seconds. */
export function cpuSeconds(pid: number): number {
  if (pid === process.pid) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), in clock ticks (100 Hz on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Memory the host can give to new work without swapping (MemAvailable), in bytes. */
export function availableMemoryBytes(): number {
  try {
    const m = /MemAvailable:\s+(\d+)\s+kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return freemem();
}

export const toGb = (bytes: number) => Math.round((bytes / GB) * 1000) / 1000;

/** Measures the CPU share of a set of processes between two calls, as a percent of one core. */
export class CpuMeter {
  private lastTotal = 0;
  private lastAt = 0;
  private lastPercent = 0;

  sample(pids: number[]): number {
    const total = pids.reduce((s, p) => s + cpuSeconds(p), 0);
    const now = performance.now() / 1000;
    if (this.lastAt > 0 && now - this.lastAt >= 0.2) {
      this.lastPercent = Math.max(0, ((total - this.lastTotal) / (now - this.lastAt)) * 100);
      this.lastTotal = total;
      this.lastAt = now;
    } else if (this.lastAt === 0) {
      this.lastTotal = total;
      this.lastAt = now;
    }
    return Math.round(this.lastPercent * 10) / 10;
  }
}

export function hostMemory(): { totalGb: number; availableGb: number; cores: number } {
  return { totalGb: toGb(totalmem()), availableGb: toGb(availableMemoryBytes()), cores: cpus().length };
}

export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** R running, S sleeping, Z zombie (exited, waiting to be reaped)… */
  state: string;
  /** Start time in clock ticks since boot: together with the pid, it names one process for good. */
  startTime: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so split after the last ")". */
export function readStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: state(3) ppid(4) pgrp(5) … starttime(22), so offsets 1, 2 and 19.
    return { pid, state: fields[0], ppid: Number(fields[1]), pgrp: Number(fields[2]), startTime: Number(fields[19]) };
  } catch {
    return null;
  }
}
