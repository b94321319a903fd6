/**
 * Facts about other processes from /proc (Linux): who listens on a port, which processes belong to a
 * process group, whether a pid is still the process we think it is. Everything degrades to "unknown"
 * (null, empty) elsewhere or when /proc denies us, because the supervisor must still run there.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { readStat, type ProcStat } from '../util/proc.js';

/** State of a listening TCP socket in /proc/net/tcp (TCP_LISTEN). */
const TCP_LISTEN = '0A';

function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

/** Socket inodes listening on `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const out = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      if (cols.length < 10 || cols[3] !== TCP_LISTEN) continue;
      if (cols[1].split(':')[1] === hexPort) out.add(cols[9]);
    }
  }
  return out;
}

/** The pid of the process listening on `port`, found through its socket inode; null when unknown. */
export function pidListeningOn(port: number): number | null {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return null;
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`));
  for (const pid of allPids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      try {
        if (wanted.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return pid;
      } catch {
        // fd closed while we looked
      }
    }
  }
  return null;
}

/** Every process whose process group is `pgrp` (a detached child and whatever it forked). */
export function groupMembers(pgrp: number): ProcStat[] {
  return allPids()
    .map(readStat)
    .filter((s): s is ProcStat => s !== null && s.pgrp === pgrp);
}

/** All descendants of `pid` (children, their children…), as seen now. */
export function descendantsOf(pid: number): ProcStat[] {
  const stats = allPids()
    .map(readStat)
    .filter((s): s is ProcStat => s !== null);
  const out: ProcStat[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const s of stats) {
      if (s.ppid === parent && !out.some((o) => o.pid === s.pid)) {
        out.push(s);
        frontier.push(s.pid);
      }
    }
  }
  return out;
}

/** True while `stat.pid` still names the same process (same start time), so a reused pid is never killed. */
export function isSameProcess(stat: ProcStat): boolean {
  const now = readStat(stat.pid);
  return now !== null && now.startTime === stat.startTime;
}

/** True when `pid` is gone or a zombie: it has exited and only waits for its parent to read its status. */
export function hasEnded(pid: number): boolean {
  const s = readStat(pid);
  return s === null || s.state === 'Z' || s.state === 'X';
}

export { readStat, type ProcStat };
