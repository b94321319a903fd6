/**
 * Deployment API (CONTRACT §3): deploy, rollback, one deployment with every decision, its event stream,
 * the list, and the operator commands. Bodies are checked by the service (messages name the field);
 * the schemas here bound params and the command name before anything is looked up.
 */
import type { FastifyPluginAsync } from 'fastify';
import { DeployInvalidRequest, DeployNotFound } from '../../errors.js';
import { MODEL_TYPES, type ModelType } from '../../model-types.js';
import { INTENTS, PHASES, type DeploymentService, type Intent, type Phase } from '../../rollout/index.js';
import { streamEventLog } from '../event-stream.js';

export interface DeploymentsRoutesOptions {
  deployments: DeploymentService;
}

/** Deployment ids are at most 128 characters (deploy-request.ts); longer ones are refused unread. */
const idParam = { type: 'string', minLength: 1, maxLength: 128 } as const;

interface IdParams {
  id: string;
}

interface ListQuery {
  model_type?: string;
  status?: string;
  limit?: string;
}

export const deploymentsRoutes: FastifyPluginAsync<DeploymentsRoutesOptions> = async (app, { deployments }) => {
  app.post('/api/models/deploy', async (req) => deployments.deploy(req.body));

  app.post('/api/models/rollback', async (req) => deployments.rollback(req.body));

  app.get<{ Querystring: ListQuery }>('/api/models/deployments', async (req) => {
    const { model_type, status, limit } = req.query;
    if (model_type !== undefined && !(MODEL_TYPES as readonly string[]).includes(model_type)) {
      throw DeployInvalidRequest(`model_type must be one of ${MODEL_TYPES.join(', ')}, got ${JSON.stringify(model_type)}`);
    }
    if (status !== undefined && !(PHASES as readonly string[]).includes(status)) {
      throw DeployInvalidRequest(`status must be one of ${PHASES.join(', ')}, got ${JSON.stringify(status)}`);
    }
    const n = limit === undefined ? 50 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 500) throw DeployInvalidRequest(`limit must be an integer 1-500, got ${JSON.stringify(limit)}`);
    return { deployments: await deployments.list({ modelType: model_type as ModelType | undefined, phase: status as Phase | undefined, limit: n }) };
  });

  app.get<{ Params: IdParams }>(
    '/api/models/deployments/:id',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: idParam } } } },
    async (req) => deployments.get(req.params.id),
  );

  app.get<{ Params: IdParams }>(
    '/api/models/deployments/:id/stream',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: idParam } } } },
    async (req, reply) => {
      const id = req.params.id;
      if (!(await deployments.has(id))) throw DeployNotFound(id);
      streamEventLog(req, reply, {
        since: (after) => deployments.eventsSince(id, after),
        subscribe: (notify) => {
          const listener = (changed: string) => {
            if (changed === id) notify();
          };
          deployments.on('event', listener);
          return () => deployments.off('event', listener);
        },
        isTerminal: (e) => deployments.isTerminalEvent(e.event),
        isFinished: () => deployments.isFinished(id),
      });
    },
  );

  app.post<{ Params: IdParams & { command: Intent } }>(
    '/api/models/deployments/:id/:command',
    {
      schema: {
        params: { type: 'object', required: ['id', 'command'], properties: { id: idParam, command: { type: 'string', enum: [...INTENTS] } } },
      },
    },
    async (req) => deployments.command(req.params.id, req.params.command),
  );
};
