// The ceiling for prime's HTTP path: a bare Fastify handler (no logger, hooks or schemas) that parses the
// same request bodies and answers a fixed prediction of the very shape and size prime writes, header included.
import Fastify from 'fastify';
import { FIXED_PREDICTION, MODEL_VERSION, PREDICTION_ID } from './fixed-prediction.mjs';

const answer = { prediction_id: PREDICTION_ID, model_version: MODEL_VERSION, ...FIXED_PREDICTION };

const app = Fastify({ logger: false });
app.post('/api/predict/nlu', async (_req, reply) => {
  reply.header('x-model-version', answer.model_version);
  return answer;
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening on port ${app.server.address().port}\n`);
