import { describe, expect, it } from 'vitest';
import { blocksTraining, runChecks, type CheckResult, type DoctorFacts } from '../../src/doctor/index.js';

const GB = 1024 ** 3;

/** A healthy 16 GB laptop with a 2 GB job; each test changes one thing. */
function facts(over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    node: { version: 'v24.1.0', execPath: '/usr/bin/node' },
    host: { totalGb: 16, availableGb: 10 },
    memoryNeeds: [{ jobs: 'every job', gb: 2, source: 'TRAINING_MEMORY_RESERVE_GB' }],
    maxTotalMemoryGb: 12,
    home: { path: '/srv/me/.jarvis', exists: true, triedDir: '/srv/me/.jarvis', writeError: null, freeBytes: 200 * GB, totalBytes: 500 * GB },
    ports: [
      { title: 'Reactor-Core', portVar: 'REACTOR_CORE_PORT', host: '127.0.0.1', port: 8090, state: { kind: 'free' } },
      { title: 'J-Prime', portVar: 'JARVIS_PRIME_PORT', host: '127.0.0.1', port: 8002, state: { kind: 'ours', status: 'healthy' } },
      { title: 'JARVIS', portVar: 'JARVIS_PORT', host: '127.0.0.1', port: 8010, state: { kind: 'free' } },
    ],
    binds: [
      { hostVar: 'REACTOR_CORE_HOST', host: '127.0.0.1' },
      { hostVar: 'JARVIS_HOST', host: 'localhost' },
    ],
    apiTokenSet: false,
    autoTraining: { enabled: true, minExperiences: 100, checkIntervalSeconds: 300 },
    stoppedHolders: [],
    ...over,
  };
}

const byName = (results: CheckResult[], name: string) => results.find((r) => r.name === name)!;
const check = (over: Partial<DoctorFacts>, name: string) => byName(runChecks(facts(over)), name);

describe('doctor checks', () => {
  it('pass on a machine where training can run, and say so with the numbers', () => {
    const results = runChecks(facts());
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['node', 'ok'],
      ['host memory', 'ok'],
      ['MAX_TOTAL_MEMORY_GB', 'ok'],
      ['JARVIS_HOME', 'ok'],
      ['disk', 'ok'],
      ['ports', 'ok'],
      ['binding', 'ok'],
      ['auto-training', 'ok'],
      ['stopped processes', 'ok'],
    ]);
    expect(blocksTraining(results)).toBe(false);
    expect(byName(results, 'host memory').detail).toBe('host has 10 GB available of 16 GB ≥ 2 GB per job (TRAINING_MEMORY_RESERVE_GB)');
    expect(byName(results, 'ports').detail).toContain('J-Prime 127.0.0.1:8002 is our own J-Prime, running (healthy)');
  });

  it('warn about a process stopped with the SQLite database open, naming it and how to resume it; say nothing where it cannot be known', () => {
    const r = check({ stoppedHolders: [{ pid: 4242, command: 'node /opt/trinity/bin/trinity.js worker' }] }, 'stopped processes');
    expect(r).toMatchObject({ status: 'warn', fix: expect.stringContaining('kill -CONT 4242') });
    expect(r.detail).toContain('process 4242 (node /opt/trinity/bin/trinity.js worker) is stopped with the database open');
    expect(runChecks(facts({ stoppedHolders: null })).map((c) => c.name)).not.toContain('stopped processes');
  });

  it('fail on a Node older than 22.12 and name the node that runs', () => {
    expect(check({ node: { version: 'v22.11.0', execPath: '/opt/node22/bin/node' } }, 'node')).toMatchObject({
      status: 'fail',
      detail: 'Node v22.11.0 (/opt/node22/bin/node) < 22.12',
      fix: expect.stringContaining('install Node 22.12'),
    });
    expect(check({ node: { version: 'v22.12.0', execPath: 'x' } }, 'node').status).toBe('ok');
    expect(check({ node: { version: 'v23.0.0', execPath: 'x' } }, 'node').status).toBe('ok');
  });

  it('fail when a job needs more memory than the host has at all; warn when only more than is free now', () => {
    const never = check({ memoryNeeds: [{ jobs: 'every job', gb: 40, source: 'TRAINING_MEMORY_RESERVE_GB' }] }, 'host memory');
    expect(never).toMatchObject({ status: 'fail', detail: expect.stringContaining('< 40 GB per job (TRAINING_MEMORY_RESERVE_GB): such a job never starts') });
    expect(never.fix).toContain('unset TRAINING_MEMORY_RESERVE_GB');
    expect(check({ host: { totalGb: 16, availableGb: 1.5 } }, 'host memory')).toMatchObject({ status: 'warn', detail: expect.stringContaining('jobs wait until that much is free') });
  });

  it('judges per-type estimates by the ones that cannot fit, and does not blame a setting nobody set', () => {
    const r = check(
      {
        memoryNeeds: [
          { jobs: 'nlu', gb: 0.5, source: 'nlu estimate' },
          { jobs: 'embedding', gb: 40, source: 'no estimate' },
        ],
      },
      'host memory',
    );
    expect(r).toMatchObject({ status: 'fail', detail: expect.stringContaining('40 GB per embedding job (no estimate)') });
    expect(r.detail).not.toContain('nlu');
    expect(r.fix).not.toContain('TRAINING_MEMORY_RESERVE_GB');
  });

  it('fail when MAX_TOTAL_MEMORY_GB is below a job, warn when it is above the host', () => {
    expect(check({ maxTotalMemoryGb: 1 }, 'MAX_TOTAL_MEMORY_GB')).toMatchObject({ status: 'fail', detail: 'MAX_TOTAL_MEMORY_GB 1 < 2 GB per job (TRAINING_MEMORY_RESERVE_GB): no job ever fits under it' });
    expect(check({ maxTotalMemoryGb: 64 }, 'MAX_TOTAL_MEMORY_GB')).toMatchObject({ status: 'warn', fix: 'set MAX_TOTAL_MEMORY_GB to at most 16' });
  });

  it('fail when JARVIS_HOME cannot be written; a missing home under a writable parent is fine', () => {
    const home = facts().home;
    expect(check({ home: { ...home, writeError: 'EACCES' } }, 'JARVIS_HOME')).toMatchObject({ status: 'fail', detail: 'cannot write to /srv/me/.jarvis: EACCES' });
    expect(check({ home: { ...home, exists: false, triedDir: '/srv/me' } }, 'JARVIS_HOME')).toMatchObject({
      status: 'ok',
      detail: '/srv/me/.jarvis does not exist yet; /srv/me is writable, so it is created on first start',
    });
    expect(check({ home: { ...home, exists: false, triedDir: '/', writeError: 'EACCES' } }, 'JARVIS_HOME').detail).toBe('cannot write to / (JARVIS_HOME /srv/me/.jarvis does not exist yet): EACCES');
  });

  it('fail below 1 GB free, warn below 5 % free', () => {
    const home = facts().home;
    expect(check({ home: { ...home, freeBytes: 0.5 * GB } }, 'disk')).toMatchObject({ status: 'fail', fix: expect.stringContaining('free some space') });
    expect(check({ home: { ...home, freeBytes: 20 * GB, totalBytes: 1000 * GB } }, 'disk')).toMatchObject({ status: 'warn', detail: expect.stringContaining('less than 5 % free') });
    expect(check({ home: { ...home, freeBytes: null, totalBytes: null } }, 'disk').status).toBe('warn');
  });

  it('fail on a port held by something else or not bindable, naming the variable that moves it', () => {
    const ports = facts().ports!;
    const r = check({ ports: [{ ...ports[0]!, state: { kind: 'other', what: 'process 77 (nginx)' } }, ports[1]!, { ...ports[2]!, state: { kind: 'error', code: 'EACCES' } }] }, 'ports');
    expect(r.status).toBe('fail');
    expect(r.detail).toBe('Reactor-Core 127.0.0.1:8090 is taken by process 77 (nginx); JARVIS 127.0.0.1:8010 cannot be bound (EACCES)');
    expect(r.fix).toBe('stop it, or set REACTOR_CORE_PORT to a free port; set JARVIS_PORT to a port above 1023');
    expect(check({ ports: [{ ...ports[0]!, state: { kind: 'not_launched', why: 'is off (REACTOR_CORE_ENABLED=false)' } }] }, 'ports').status).toBe('ok');
    expect(runChecks(facts({ ports: null })).map((x) => x.name)).not.toContain('ports');
  });

  it('fail on a non-loopback bind without TRINITY_API_TOKEN, pass with one', () => {
    const binds = [{ hostVar: 'JARVIS_HOST', host: '0.0.0.0' }];
    expect(check({ binds }, 'binding')).toMatchObject({ status: 'fail', detail: 'JARVIS_HOST=0.0.0.0 without TRINITY_API_TOKEN: those services refuse to start' });
    expect(check({ binds, apiTokenSet: true }, 'binding').status).toBe('ok');
  });

  it('warn when auto-training is off or set so that it effectively never runs', () => {
    const a = facts().autoTraining;
    expect(check({ autoTraining: { ...a, enabled: false } }, 'auto-training')).toMatchObject({ status: 'warn', detail: expect.stringContaining('AUTO_TRAINING_ENABLED=false') });
    expect(check({ autoTraining: { ...a, minExperiences: 1_000_000 } }, 'auto-training')).toMatchObject({ status: 'warn', fix: 'lower MIN_EXPERIENCES_FOR_TRAINING (default 100)' });
    expect(check({ autoTraining: { ...a, checkIntervalSeconds: 7 * 86_400 } }, 'auto-training')).toMatchObject({ status: 'warn', fix: 'lower TRAINING_CHECK_INTERVAL (default 300)' });
    // Warnings alone do not stop training: `trinity train` still works.
    expect(blocksTraining(runChecks(facts({ autoTraining: { ...a, enabled: false } })))).toBe(false);
  });
});
