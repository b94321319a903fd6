// Prime's own HTTP stack with no model: the app prime builds (createApp: its logger, origin guard, bearer
// check, charset check, error handling) and its prediction routes (body schema, input bounds, in-flight
// count, answerJson), answering the fixed prediction of fixed-prediction.mjs under a fresh id. What prime reaches
// here is the most any nlu model could leave it; the gap to the real prime is the model's cost.
// Built from dist/ (npm run build), so it is always the stack prime runs.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { createApp } from '../../dist/http/create-app.js';
import { primePredictRoutes } from '../../dist/http/routes/prime-predict.js';
import { InflightCounter } from '../../dist/serving/index.js';
import { FIXED_PREDICTION, MODEL_VERSION } from './fixed-prediction.mjs';

// The part of ModelServer the routes call; the real one also routes by split and logs the prediction.
const server = { predict: () => ({ predictionId: randomUUID(), modelVersion: MODEL_VERSION, prediction: FIXED_PREDICTION }) };

const app = createApp({ logger: pino({ level: 'error' }), bodyLimitBytes: 1 << 20 });
app.register(primePredictRoutes, { server, inflight: new InflightCounter() });
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening on port ${app.server.address().port}\n`);
