/**
 * One GET with a hard deadline and no connection reuse. Probes use node:http rather than fetch because
 * an aborted fetch leaves its socket open in undici's pool: a port held by a process that never answers
 * would keep a half-dead connection (and the far side's close()) waiting. Here the socket is destroyed
 * when the deadline passes, and each probe opens its own (agent: false), so nothing outlives the call.
 */
import { get as httpGetRaw, type IncomingMessage } from 'node:http';
import { get as httpsGetRaw } from 'node:https';

/** Bodies longer than this are cut: a health answer is small, and a probe must not buffer a whole page. */
const MAX_BODY_BYTES = 256 * 1024;

export interface HttpGetOptions {
  timeoutMs: number;
  token?: string;
}

export interface HttpAnswer {
  status: number;
  text: string;
}

/** Rejects with an Error whose message is the network failure (ECONNREFUSED…) or `no answer within N ms`. */
export function httpGet(url: string, opts: HttpGetOptions): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGetRaw : httpGetRaw;
    const headers: Record<string, string> = { accept: 'application/json' };
    // finish() runs only from callbacks, after `req` below exists.
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const finish = (err: Error | null, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const req = get(url, { headers, agent: false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_BODY_BYTES) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => finish(null, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES) }));
      res.on('error', (err) => finish(err));
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(new Error(err.code ?? err.message)));
  });
}
