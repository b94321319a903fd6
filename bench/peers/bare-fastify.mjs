// The ceiling for prime's HTTP path: a bare Fastify handler (no logger, hooks or schemas) that parses the
// same request bodies and answers a fixed prediction of the very shape and size prime writes, header included.
import Fastify from 'fastify';

const answer = {
  prediction_id: '14a15b56-89f2-42e1-b6ce-099c1cb8c3e8',
  model_version: 'v1.0.0',
  intent: 'PlayMusic',
  confidence: 0.999301885015739,
  top_k: [
    { intent: 'PlayMusic', score: 0.999301885015739 },
    { intent: 'SearchCreativeWork', score: 0.0005250956995968323 },
    { intent: 'AddToPlaylist', score: 0.00012904835661154305 },
    { intent: 'BookRestaurant', score: 0.000013657520794819686 },
    { intent: 'SearchScreeningEvent', score: 0.000011665094623570195 },
  ],
};

const app = Fastify({ logger: false });
app.post('/api/predict/nlu', async (_req, reply) => {
  reply.header('x-model-version', answer.model_version);
  return answer;
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening on port ${app.server.address().port}\n`);
