import { afterEach, describe, expect, it } from 'vitest';
import { PrimeClient } from '../../src/client/index.js';
import { FakePrime } from './helpers.js';

let fake: FakePrime | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const split = { model_type: 'nlu', stable: 'v1.0.0', canary: 'v1.0.1', canary_percentage: 25, deployment_id: 'dep-1' };

describe('PrimeClient', () => {
  it('reads stats and pushes a split; a refused version is TRN_ERR_DEPLOY_PRIME_REJECTED carrying that version', async () => {
    fake = await new FakePrime().start();
    fake.add('nlu', 'v1.0.1', 3, 1);
    const client = new PrimeClient({ baseUrl: `${fake.url}/` });
    expect(await client.stats()).toMatchObject({ instance_id: 'prime-1', models: { nlu: { 'v1.0.1': { requests: 4, feedback_success: 3, feedback_failure: 1, errors: 0 } } } });
    expect(await client.pushSplit(split)).toMatchObject({ model_type: 'nlu', canary: 'v1.0.1', canary_percentage: 25 });
    expect(fake.splits).toEqual([split]);
    fake.refuse.add('v1.0.1');
    await expect(client.pushSplit(split)).rejects.toMatchObject({ code: 'TRN_ERR_DEPLOY_PRIME_REJECTED', statusCode: 422, extra: { version: 'v1.0.1' } });
    fake.down = true;
    await expect(client.stats()).rejects.toMatchObject({ code: 'TRN_ERR_DEPLOY_PRIME_BAD_RESPONSE' });
  });

  it('reports a prime that is not listening as TRN_ERR_DEPLOY_PRIME_UNREACHABLE, and refuses a bad base URL at construction', async () => {
    fake = await new FakePrime().start();
    const url = fake.url;
    await fake.close();
    fake = undefined;
    await expect(new PrimeClient({ baseUrl: url }).stats()).rejects.toMatchObject({ code: 'TRN_ERR_DEPLOY_PRIME_UNREACHABLE', message: expect.stringContaining('ECONNREFUSED') });
    expect(() => new PrimeClient({ baseUrl: 'ftp://x' })).toThrow(/baseUrl must be an http\(s\) URL/);
  });
});
