/**
 * Claims on training jobs (job-claims.ts) against a real SQLite file: the oldest claimable job goes to one
 * runner only; a lease that runs out, or a holder process that is gone, lets another runner take the job
 * under a larger fencing token; the stale holder can neither renew nor append an event; cancels reach a
 * live holder through the database and end a job nobody runs at once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { ClaimLost, JobStore } from '../../src/training/jobs-store.js';
import { JobClaims } from '../../src/training/job-claims.js';
import type { ProcessIdentity } from '../../src/util/process-identity.js';

const TTL = 10;
const elsewhere = (pid: number): ProcessIdentity => ({ host: 'another-host', pid, startTime: null });

function setup(isGone: (o: ProcessIdentity) => boolean = () => false) {
  const db = openDatabase({ path: join(mkdtempSync(join(tmpdir(), 'trinity-claims-')), 'trinity.db') });
  const jobs = new JobStore(db);
  // A second handle on the same file stands for another process (its ends write through its own handle).
  const otherDb = openDatabase({ path: db.name });
  const claims = new JobClaims(db, { isGone });
  const other = new JobClaims(otherDb, { isGone });
  const otherJobs = new JobStore(otherDb);
  const add = (jobId: string) => jobs.create({ jobId, modelType: 'nlu', request: {}, totalEpochs: 2 });
  return { jobs, otherJobs, claims, other, add };
}

describe('training job claims', () => {
  it('gives the oldest queued job to one runner, the next to the other, and nothing more', () => {
    const { claims, other, add, jobs } = setup();
    add('a');
    add('b');
    const first = claims.claimNext('w1', elsewhere(1), TTL, 1000)!;
    const second = other.claimNext('w2', elsewhere(2), TTL, 1000)!;
    expect([first.jobId, second.jobId]).toEqual(['a', 'b']);
    expect(first).toMatchObject({ workerId: 'w1', token: 1, interrupted: false, leaseUntil: 1000 + TTL });
    expect(claims.claimNext('w3', elsewhere(3), TTL, 1001)).toBeNull();
    expect(jobs.get('a')).toMatchObject({ status: 'training', workerId: 'w1' });
  });

  it("gives a job only to runners of its pool: a cloud job waits for a cloud worker, a local runner takes only local jobs", () => {
    const { claims, other, jobs } = setup();
    jobs.create({ jobId: 'big', modelType: 'nlu', request: {}, totalEpochs: 2, workerPool: 'cloud' });
    jobs.create({ jobId: 'small', modelType: 'nlu', request: {}, totalEpochs: 2 });
    expect(claims.claimNext('reactor-runner', elsewhere(1), TTL, 1000)?.jobId).toBe('small');
    expect(claims.claimNext('reactor-runner', elsewhere(1), TTL, 1000)).toBeNull();
    expect(other.claimNext('gpu-worker', elsewhere(2), TTL, 1000, 'gpu')).toBeNull();
    expect(other.claimNext('cloud-worker', elsewhere(3), TTL, 1000, 'cloud')?.jobId).toBe('big');
    expect(jobs.get('big')).toMatchObject({ workerPool: 'cloud', workerId: 'cloud-worker' });
  });

  it('lets another runner take a job whose lease ran out, under a larger token; the stale holder can neither renew nor append', () => {
    const { claims, other, add, jobs } = setup();
    add('a');
    const stale = claims.claimNext('w1', elsewhere(1), TTL, 1000)!;
    expect(claims.renew(stale, TTL, 1005)).toEqual({ held: true, cancelRequested: false });
    expect(other.claimNext('w2', elsewhere(2), TTL, 1014)).toBeNull(); // renewed until 1015
    const taken = other.claimNext('w2', elsewhere(2), TTL, 1015)!;
    expect(taken).toMatchObject({ jobId: 'a', workerId: 'w2', token: 2, interrupted: true });

    expect(claims.renew(stale, TTL, 1016)).toEqual({ held: false });
    expect(() => jobs.appendEvent('a', 'status', { epoch: 1 }, { epoch: 1 }, { workerId: 'w1', token: 1 })).toThrow(ClaimLost);
    expect(jobs.eventsSince('a', 0)).toEqual([]);
    expect(jobs.get('a')?.epoch).toBe(0);
    expect(jobs.appendEvent('a', 'status', { epoch: 1 }, undefined, { workerId: 'w2', token: 2 }).id).toBe(1);
  });

  it('takes a job at once from a holder whose process is gone, before its lease runs out', () => {
    const gone = new Set<number>();
    const { claims, other, add } = setup((o) => gone.has(o.pid));
    add('a');
    claims.claimNext('w1', elsewhere(1), TTL, 1000);
    expect(other.claimNext('w2', elsewhere(2), TTL, 1001)).toBeNull();
    gone.add(1);
    expect(other.claimNext('w2', elsewhere(2), TTL, 1001)).toMatchObject({ jobId: 'a', token: 2, interrupted: true });
  });

  it('hands a released job to the next runner at once, as interrupted', () => {
    const { claims, other, add } = setup();
    add('a');
    const held = claims.claimNext('w1', elsewhere(1), TTL, 1000)!;
    claims.release(held);
    expect(other.claimNext('w2', elsewhere(2), TTL, 1001)).toMatchObject({ jobId: 'a', interrupted: true });
  });

  it('asks a live holder to cancel through its renewal, ends a queued job at once, and claims neither', () => {
    const { claims, other, add, jobs, otherJobs } = setup();
    add('a');
    add('b');
    const held = claims.claimNext('w1', elsewhere(1), TTL, 1000)!;
    const cancelled = (id: string) => () => void otherJobs.appendEvent(id, 'cancelled', {}, { status: 'cancelled' });
    expect(other.requestCancel('a', 1001, cancelled('a'))).toBe('asked');
    expect(claims.renew(held, TTL, 1002)).toEqual({ held: true, cancelRequested: true });
    expect(other.requestCancel('b', 1001, cancelled('b'))).toBe('ended');
    expect(jobs.get('b')?.status).toBe('cancelled');
    expect(other.claimNext('w2', elsewhere(2), TTL, 1100)).toBeNull(); // a: cancel asked, lease out; b: ended

    // A holder that never answers is fenced off: its late events are refused.
    other.forceEnd('a', cancelled('a'));
    expect(jobs.get('a')?.status).toBe('cancelled');
    expect(() => jobs.appendEvent('a', 'completed', {}, undefined, { workerId: 'w1', token: held.token })).toThrow(ClaimLost);
    expect(other.requestCancel('a', 1200, cancelled('a'))).toBe('finished');
  });
});
