/**
 * A JSON body parsed as it arrives, for routes that take large batches (POST /api/experiences). Fastify's
 * own parser reads the whole body and then runs JSON.parse on it at once: 30 MB hold the event loop for
 * 200–300 ms, during which health checks go unanswered. Here each chunk of the socket goes through a
 * streaming parser (@streamparser/json, which keeps a `__proto__` key an own property as JSON.parse
 * does), and the request pauses for one event-loop turn after every chunk, so other requests are served
 * in between. Errors are the same catalogue errors as the default parser's (error-handler.ts).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { JSONParser } from '@streamparser/json';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpInvalidJson, TrinityError } from '../errors.js';
import { bodyTooLarge } from './error-handler.js';

/** The body of `req` as a JSON value, read chunk by chunk, at most `limit` bytes. */
export async function parseJsonStream(req: FastifyRequest, body: Readable, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw bodyTooLarge(req, limit);
  const parser = new JSONParser({ paths: ['$'] });
  let root: unknown;
  let found = false;
  parser.onValue = ({ value }) => {
    root = value;
    found = true;
  };
  let received = 0;
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      received += bytes.length;
      if (received > limit) throw bodyTooLarge(req, limit);
      if (parser.isEnded) {
        // Anything after the value must be white space, as for JSON.parse.
        if (bytes.toString('utf8').trim() !== '') throw HttpInvalidJson('there is more after the JSON value');
        continue;
      }
      parser.write(bytes);
      await nextTurn();
    }
    if (!parser.isEnded) parser.end();
  } catch (err) {
    // The parser's errors say where the text went wrong; a dropped connection (code ECONNRESET…) is not bad JSON.
    if (err instanceof TrinityError || (err instanceof Error && 'code' in err)) throw err;
    throw HttpInvalidJson(err instanceof Error ? err.message : String(err));
  }
  if (received === 0) throw HttpInvalidJson('the body is empty; send a JSON value or no content-type');
  if (!found) throw HttpInvalidJson('the body ends before the JSON value does');
  return root;
}

/** Makes `scope` (a plugin's encapsulated instance) read `application/json` bodies with parseJsonStream. */
export function useStreamingJson(scope: FastifyInstance): void {
  const limit = scope.initialConfig.bodyLimit ?? 1024 * 1024;
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', (req: FastifyRequest, payload: Readable) => parseJsonStream(req, payload, limit));
}
