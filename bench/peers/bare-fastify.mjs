// The ceiling for prime's HTTP path: a bare Fastify handler answering a fixed prediction-shaped JSON.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/api/predict/nlu', async () => ({ prediction_id: 'p', model_version: 'v0', intent: 'PlayMusic', confidence: 0.9 }));
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening on port ${app.server.address().port}\n`);
