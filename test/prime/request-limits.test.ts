/**
 * Prime's request bounds in a real process: a body over PRIME_MAX_BODY_BYTES answers 413 at once (a 50 MB
 * text used to hold prime for 12 s), and each input field has a bound named in the 400 answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUT_LIMITS } from '../../src/http/routes/prime-predict.js';
import { PRIME_MAX_BODY_BYTES } from '../../src/prime/prime-service.js';
import { getJson, postJson, startService, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { createNluVersions, type NluVersions } from '../serving/helpers.js';
import { FakeModelsReactor } from './fake-reactor.js';

let nlu: NluVersions;
let prime: ServiceProcess;
const reactor = new FakeModelsReactor();

beforeAll(async () => {
  nlu = await createNluVersions(1);
  await reactor.start();
  const [v1] = nlu.versions;
  reactor.models = { nlu: { stable: v1, canary: null, canary_percentage: 0, deployment_id: null, versions: [{ version: v1, digest: nlu.digests[v1] }] } };
  prime = await startService('prime', nlu.home, { REACTOR_CORE_API_URL: reactor.url, PRIME_RECONCILE_INTERVAL: '0.2' });
  await waitFor(async () => (await postJson(`${prime.url}/api/predict/nlu`, { input: { text: 'play a song' } })).status === 200, 30_000, 'nlu served');
}, 60_000);
afterAll(async () => {
  await prime?.kill('SIGKILL');
  await reactor.stop();
  nlu?.cleanup();
});

describe('prime request bounds', () => {
  it('answers a 50 MB text with 413 at once and keeps answering health', async () => {
    const t0 = performance.now();
    const big = postJson(`${prime.url}/api/predict/nlu`, { input: { text: 'x'.repeat(50 * 1024 * 1024) } }).catch((err: unknown) => ({ status: 0, body: { error: String(err) } }));
    const health = await getJson(`${prime.url}/health`);
    expect(health.status).toBe(200);
    const res = await big;
    const ms = performance.now() - t0;
    // Prime may close the connection while the client still writes; either way it did not read 50 MB.
    if (res.status !== 0) {
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ code: 'TRN_ERR_HTTP_BODY_TOO_LARGE', error: `request body is larger than ${PRIME_MAX_BODY_BYTES} bytes` });
    }
    expect(ms).toBeLessThan(5_000);
    expect((await postJson(`${prime.url}/api/predict/nlu`, { input: { text: 'play a song' } })).status).toBe(200);
  }, 60_000);

  it.each([
    ['input.text', { text: 'x'.repeat(INPUT_LIMITS.textChars + 1) }, /input\.text has 10001 characters; at most 10000/],
    ['input.audio', { audio: 'A'.repeat(INPUT_LIMITS.base64Chars + 1) }, /input\.audio has 700001 characters; at most 700000/],
    ['input.image', { image: 'A'.repeat(INPUT_LIMITS.base64Chars + 1) }, /input\.image has 700001 characters; at most 700000/],
    ['input.audio_embedding', { audio_embedding: new Array<number>(INPUT_LIMITS.embeddingItems + 1).fill(0) }, /input\.audio_embedding has 4097 numbers; at most 4096/],
    ['input.pixels', { pixels: new Array<number>(INPUT_LIMITS.pixelItems + 1).fill(0) }, /input\.pixels has 196609 numbers; at most 196608/],
  ])('refuses an oversized %s with 400 naming the field', async (_field, input, message) => {
    for (const type of ['nlu', 'voice', 'vision', 'embedding']) {
      const res = await postJson<{ code: string; error: string }>(`${prime.url}/api/predict/${type}`, { input });
      expect(res.status, type).toBe(400);
      expect(res.body.code).toBe('TRN_ERR_HTTP_BAD_REQUEST');
      expect(res.body.error).toMatch(message);
    }
  });

  it('serves a text at the bound, and logs no schema warnings', async () => {
    const res = await postJson(`${prime.url}/api/predict/nlu`, { input: { text: 'play '.repeat(INPUT_LIMITS.textChars / 5) } });
    expect(res.status).toBe(200);
    expect(prime.output()).not.toMatch(/strict mode|"level":(40|50)/);
  });
});
