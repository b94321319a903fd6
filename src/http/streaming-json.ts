/**
 * A JSON body parsed as it arrives, for routes that take large batches (POST /api/experiences). Fastify's
 * own parser reads the whole body and then runs JSON.parse on it at once: 30 MB hold the event loop for
 * 200–300 ms, during which health checks go unanswered. Here each chunk of a large body goes through a
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

/**
 * Bodies up to this size are parsed at once with JSON.parse, in microseconds, as soon as they are in:
 * the streaming parser is ~10× slower per byte and its turn after each chunk made small posts wait behind
 * other work under load. Larger bodies switch to the streaming parser.
 */
export const AT_ONCE_BYTES = 64 * 1024;

/** The body of `req` as a JSON value, read chunk by chunk, at most `limit` bytes. */
export async function parseJsonStream(req: FastifyRequest, body: Readable, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw bodyTooLarge(req, limit);
  let parser: JSONParser | null = null;
  let root: unknown;
  let found = false;
  const held: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      received += bytes.length;
      if (received > limit) throw bodyTooLarge(req, limit);
      if (parser === null) {
        held.push(bytes);
        if (received <= AT_ONCE_BYTES) continue;
        parser = new JSONParser({ paths: ['$'] });
        parser.onValue = ({ value }) => {
          root = value;
          found = true;
        };
        for (const h of held.splice(0)) parser.write(h);
      } else if (parser.isEnded) {
        // Anything after the value must be white space, as for JSON.parse.
        if (bytes.toString('utf8').trim() !== '') throw HttpInvalidJson('there is more after the JSON value');
        continue;
      } else {
        parser.write(bytes);
      }
      await nextTurn();
    }
    if (received === 0) throw HttpInvalidJson('the body is empty; send a JSON value or no content-type');
    if (parser === null) return parseAtOnce(Buffer.concat(held, received).toString('utf8'));
    if (!parser.isEnded) parser.end();
  } catch (err) {
    // The parsers' errors say where the text went wrong; a dropped connection (code ECONNRESET…) is not bad JSON.
    if (err instanceof TrinityError || (err instanceof Error && 'code' in err)) throw err;
    throw HttpInvalidJson(err instanceof Error ? err.message : String(err));
  }
  if (!found) throw HttpInvalidJson('the body ends before the JSON value does');
  return root;
}

/** JSON.parse with the streaming parser's message for a body cut off before its value ends. */
function parseAtOnce(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    const at = /at position (\d+)/.exec(message);
    if (/end of JSON input/.test(message) || (at !== null && Number(at[1]) >= text.trimEnd().length)) throw HttpInvalidJson('the body ends before the JSON value does');
    throw HttpInvalidJson(message);
  }
}

/** Makes `scope` (a plugin's encapsulated instance) read `application/json` bodies with parseJsonStream. */
export function useStreamingJson(scope: FastifyInstance): void {
  const limit = scope.initialConfig.bodyLimit ?? 1024 * 1024;
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', (req: FastifyRequest, payload: Readable) => parseJsonStream(req, payload, limit));
}
