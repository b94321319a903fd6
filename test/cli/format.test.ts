import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { ReactorHttpError, ReactorUnreachableError } from '../../src/client/index.js';
import { ConfigInvalid } from '../../src/errors.js';
import { describeError, formatErrorLine } from '../../src/cli/lib/errors.js';
import { parseExperiences } from '../../src/cli/lib/experience-file.js';
import { alignPairs, fmtDuration, table } from '../../src/cli/lib/format.js';
import { flattenConfig, maskSecrets, maskUrlPassword } from '../../src/cli/lib/format-config.js';
import { formatStatusLine, formatSummary } from '../../src/cli/lib/format-job.js';
import { createJobOutput } from '../../src/cli/lib/job-output.js';
import { formatProgressLine } from '../../src/cli/lib/progress-line.js';
import type { OutStream } from '../../src/cli/context.js';

describe('formatProgressLine', () => {
  it('renders epoch, bar, metrics and ETA like `epoch 3/10 |███░| loss 0.41 acc 0.92 val 0.90 ETA 12s`', () => {
    expect(formatProgressLine({ epoch: 3, totalEpochs: 10, loss: 0.4123, accuracy: 0.92, valAccuracy: 0.9, etaSeconds: 12 }, 10)).toBe(
      'epoch 3/10 |███░░░░░░░| loss 0.41 acc 0.92 val 0.90 ETA 12s',
    );
  });

  it('shows dashes, not "undefined", for metrics the reactor has not sent', () => {
    expect(formatProgressLine({ epoch: 0, totalEpochs: 0 }, 4)).toBe('epoch 0/0 |░░░░| loss – acc – val – ETA –');
  });
});

describe('CLI formatters', () => {
  it('formats durations as s, m and h', () => {
    expect([fmtDuration(0), fmtDuration(59.6), fmtDuration(184), fmtDuration(3720), fmtDuration(undefined)]).toEqual(['0s', '1m00s', '3m04s', '1h02m', '–']);
  });

  it('aligns pairs and table columns two spaces apart', () => {
    expect(alignPairs([['a', '1'], ['long', '2']])).toEqual(['a     1', 'long  2']);
    expect(table(['ID', 'X'], [['abc', '1']])).toEqual(['ID   X', 'abc  1']);
  });

  it('prints a status event on one line and the completed summary with version and metrics', () => {
    expect(formatStatusLine({ epoch: 2, total_epochs: 5, loss: 0.5, accuracy: null, eta_seconds: 90 })).toBe('epoch 2/5  loss 0.5000  acc –  val_loss –  val_acc –  ETA 1m30s');
    expect(formatSummary({ id: 9, event: 'completed', data: { job_id: 'j', model_version: 'v1.2.4', metrics: { loss: 0.1, accuracy: 0.9 } } }, 'nlu')).toEqual([
      'completed: nlu v1.2.4',
      '  loss 0.1000  acc 0.9000  val_loss –  val_acc –',
    ]);
    expect(formatSummary({ id: 9, event: 'failed', data: { job_id: 'j', error: 'boom' } }, undefined)).toEqual(['failed: boom', '  details: trinity status j']);
  });

  it('masks the API token and database password in `trinity config`', () => {
    const config = parseConfig({ JARVIS_HOME: '/tmp/x', TRINITY_API_TOKEN: 'tok', TRINITY_DATABASE_URL: 'postgres://u:pw@db/trinity' });
    const flat = Object.fromEntries(flattenConfig(maskSecrets(config)));
    expect(flat.apiToken).toBe('********');
    expect(flat.databaseUrl).toBe('postgres://u:********@db/trinity');
    expect(flat['abTest.rolloutSteps']).toBe('10,25,50,75,100');
    expect(flat['reactor.cloudUrl']).toBe('(unset)');
    expect(maskUrlPassword('not a url')).toBe('not a url');
  });
});

describe('parseExperiences', () => {
  const exp = { type: 'command', input: { text: 'hi' } };
  it('reads a JSON array, a spec batch, a forwarder envelope, one object and JSONL', () => {
    expect(parseExperiences(JSON.stringify([exp, exp]), 'a.json')).toHaveLength(2);
    expect(parseExperiences(JSON.stringify({ batch_id: 'b', experiences: [exp] }), 'b.json')).toEqual([exp]);
    expect(parseExperiences(JSON.stringify({ event_type: 'learning_signal', payload: { experiences: [exp, exp, exp] } }), 'c.json')).toHaveLength(3);
    expect(parseExperiences(JSON.stringify(exp), 'd.json')).toEqual([exp]);
    expect(parseExperiences(`${JSON.stringify(exp)}\r\n\n${JSON.stringify(exp)}\n`, 'e.txt')).toHaveLength(2);
  });

  it('names the line that is not a JSON object', () => {
    expect(() => parseExperiences(`${JSON.stringify(exp)}\n[1]\n`, 'f.jsonl')).toThrow('--file f.jsonl: line 2 is not a JSON object');
    expect(() => parseExperiences('[{"a":1},', 'g.json')).toThrow('is not valid JSON');
  });
});

describe('describeError', () => {
  it('exits 2 for a bad environment value and 1 for an unreachable reactor, each with a next step', () => {
    let configErr: unknown;
    try {
      parseConfig({ REACTOR_CORE_PORT: 'abc' });
    } catch (e) {
      configErr = e;
    }
    expect(configErr).toMatchObject({ code: ConfigInvalid.code });
    expect(describeError(configErr)).toMatchObject({ exitCode: 2, message: expect.stringContaining('REACTOR_CORE_PORT') });
    const line = formatErrorLine(describeError(new ReactorUnreachableError('http://127.0.0.1:8090', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))));
    expect(line).toBe(
      'trinity: reactor is not reachable at http://127.0.0.1:8090 (ECONNREFUSED) — start it with `trinity reactor` or `trinity up`, or point --url (REACTOR_CORE_API_URL) at a running reactor',
    );
  });

  it('turns a full queue into "try again in N s" and a missing token into what to set', () => {
    const full = new ReactorHttpError({ status: 503, method: 'POST', url: 'u', text: '', body: { error: 'training queue is full (16 jobs)', details: 'x', retry_after_seconds: 30, active_job_id: 'a' } });
    expect(describeError(full).hint).toBe('the training queue is full (running: a); try again in 30s');
    const auth = new ReactorHttpError({ status: 401, method: 'GET', url: 'u', text: '', body: { error: 'missing or wrong bearer token' } });
    expect(describeError(auth).hint).toContain('TRINITY_API_TOKEN');
  });
});

describe('JobOutput tty', () => {
  it('draws the live bar, prints checkpoints above it and the summary after it', () => {
    let text = '';
    const stream = Object.assign(
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          text += chunk.toString();
          cb();
        },
      }),
      { isTTY: true, columns: 100 },
    ) as OutStream;
    const out = createJobOutput('tty', { stdout: stream, stderr: stream, env: {} }, 'nlu');
    out.event({ id: 1, event: 'status', data: { epoch: 1, total_epochs: 4, loss: 0.5, accuracy: 0.8, val_accuracy: 0.7, eta_seconds: 30 } });
    out.event({ id: 2, event: 'checkpoint', data: { epoch: 1, checkpoint_path: '/c/1' } });
    out.event({ id: 3, event: 'status', data: { epoch: 2, total_epochs: 4, loss: 0.4, accuracy: 0.85, val_accuracy: 0.75, eta_seconds: 20 } });
    out.finished({ id: 4, event: 'completed', data: { model_version: 'v1.0.1', metrics: { loss: 0.3 } } });
    out.close();
    expect(text).toContain('checkpoint at epoch 1: /c/1');
    expect(text).toContain('epoch 2/4 |');
    expect(text).toContain('| loss 0.40 acc 0.85 val 0.75 ETA 20s');
    expect(text).toContain('completed: nlu v1.0.1');
    expect(text.indexOf('completed: nlu')).toBeGreaterThan(text.lastIndexOf('epoch 2/4'));
  });
});
