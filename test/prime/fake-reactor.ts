/**
 * A stand-in for reactor's `GET /api/models` (the listing prime reconciles from), on 127.0.0.1 and an
 * ephemeral port. It can answer slowly, stop, and come back on the same port.
 */
import Fastify, { type FastifyInstance } from 'fastify';

export interface FakeTypeListing {
  stable: string | null;
  canary: string | null;
  canary_percentage: number;
  deployment_id?: string | null;
  versions: { version: string; digest?: string }[];
}

export class FakeModelsReactor {
  models: Record<string, FakeTypeListing> = {};
  /** Ms each answer waits before it is sent. */
  delayMs = 0;
  /** GET /api/models calls answered so far. */
  reads = 0;
  private app: FastifyInstance | null = null;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const app = Fastify();
    app.get('/api/models', async () => {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      this.reads++;
      return { models: this.models };
    });
    await app.listen({ host: '127.0.0.1', port: this.port });
    this.port = (app.server.address() as { port: number }).port;
    this.app = app;
    return this;
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = null;
  }
}
