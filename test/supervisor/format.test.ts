import { describe, expect, it } from 'vitest';
import { formatFailure, formatLogLine, formatModels, formatSummary } from '../../src/supervisor/index.js';
import type { UpReport } from '../../src/supervisor/index.js';

describe('formatLogLine', () => {
  it('turns a pino record into one prefixed line with level, clock time, message and fields', () => {
    const time = new Date(2026, 0, 2, 12, 0, 1).getTime();
    const line = JSON.stringify({ level: 30, time, service: 'reactor', pid: 1, msg: 'training job completed', job_id: 'job-1', epochs: 3 });
    expect(formatLogLine('reactor', line)).toBe('reactor │ 12:00:01 INFO  training job completed job_id=job-1 epochs=3');
  });

  it('shows an error by its message, quotes values with spaces, and keeps plain lines as they are', () => {
    const line = JSON.stringify({ level: 50, time: 0, msg: 'boom', err: { type: 'Error', message: 'disk full', stack: 'Error: disk full\n at x' }, where: 'a b' });
    expect(formatLogLine('prime', line)).toMatch(/^prime {3}│ \d\d:\d\d:\d\d ERROR boom err="disk full" where="a b"$/);
    expect(formatLogLine('jarvis', 'jarvis listening on port 8010')).toBe('jarvis  │ jarvis listening on port 8010');
  });
});

describe('formatSummary', () => {
  const report: UpReport = {
    services: [
      { name: 'reactor', title: 'Reactor-Core', mode: 'started', pid: 101, port: 8090, url: 'http://127.0.0.1:8090', healthyAfterMs: 1900, memoryBytes: 110 * 1024 * 1024, status: 'healthy', problems: [] },
      { name: 'prime', title: 'J-Prime', mode: 'disabled', pid: null, port: null, url: null, healthyAfterMs: null, memoryBytes: null, status: 'disabled', problems: [] },
      { name: 'jarvis', title: 'JARVIS', mode: 'adopted', pid: 103, port: 8010, url: 'http://127.0.0.1:8010', healthyAfterMs: 3, memoryBytes: null, status: 'healthy', problems: [] },
    ],
    checks: [],
    models: [{ modelType: 'nlu', stable: 'v1.0.3', canary: 'v1.0.4', canaryPercentage: 25 }],
    degraded: ['J-Prime disabled'],
  };

  it('prints one row per service, the deployed versions, and which part is degraded', () => {
    const text = formatSummary(report).join('\n');
    expect(text).toMatch(/^ {2}Reactor-Core +101 +8090 +started +1\.9 s +110 MB +healthy$/m);
    expect(text).toMatch(/^ {2}J-Prime +- +- +disabled +- +- +disabled$/m);
    expect(text).toMatch(/^ {2}JARVIS +103 +8010 +adopted +0\.0 s +unknown +healthy$/m);
    expect(text).toContain('nlu        v1.0.3 (canary v1.0.4 at 25 %)');
    expect(text).toContain('2/3 services operational');
    expect(text).toContain('! DEGRADED MODE (1 problem):\n    - J-Prime disabled');
  });

  it("lists what trinity doctor finds stops training, inside the summary's rules", () => {
    const lines = formatSummary({ ...report, degraded: [] }, { trainingProblems: ['disk: 0.2 GB free → free some space'] });
    expect(lines.slice(-4)).toEqual([
      '✓ All services operational - FULL MODE',
      '✗ training cannot start on this machine (trinity doctor):',
      '    - disk: 0.2 GB free → free some space',
      '='.repeat(78),
    ]);
    expect(formatSummary(report, { trainingProblems: [] }).join('\n')).not.toContain('trinity doctor');
  });

  it('says where the state is kept, above the deployed models', () => {
    const lines = formatSummary(report, { database: 'Postgres at postgres://trinity:********@db:5432/trinity' });
    const at = lines.indexOf('  database: Postgres at postgres://trinity:********@db:5432/trinity');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(/deployed models/);
    expect(formatSummary(report).join('\n')).not.toContain('database:');
  });

  it('says FULL MODE when nothing is degraded', () => {
    expect(formatSummary({ ...report, degraded: [] }).join('\n')).toContain('✓ All services operational - FULL MODE');
  });

  it('says when nothing is deployed yet or the registry is unreadable', () => {
    expect(formatModels([{ modelType: 'nlu', stable: null, canary: null, canaryPercentage: 0 }])).toEqual(['  deployed models: none yet (training deploys them)']);
    expect(formatModels(null)[0]).toMatch(/unknown/);
  });
});

describe('formatFailure', () => {
  it('names the reason, the last probe, the last lines and the log file', () => {
    const text = formatFailure(
      { service: 'reactor', title: 'Reactor-Core', reason: 'Reactor-Core exited before it was healthy (code 1)', probe: 'GET http://x/api/health → ECONNREFUSED', lastLines: ['a', 'b'], logFile: '/h/logs/reactor.log', aborted: false },
      (l) => `reactor │ ${l}`,
    ).join('\n');
    expect(text).toContain('✗ Reactor-Core exited before it was healthy (code 1)');
    expect(text).toContain('last probe: GET http://x/api/health → ECONNREFUSED');
    expect(text).toContain('last 2 lines of reactor:\n    reactor │ a\n    reactor │ b');
    expect(text).toContain('full log: /h/logs/reactor.log');
  });
});
