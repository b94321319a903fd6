/**
 * HTTP requests with exactly the headers given (node:http adds only Connection), for tests that must
 * control Host, Origin and Sec-Fetch-* the way a browser, a rebinding attacker or a Python client does.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface RawRequest {
  method?: string;
  /** Sent as given; `host` defaults to the URL's host:port. */
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** The response with its body unread (streams). */
export function rawRequest(url: string, { method = 'GET', headers = {}, body }: RawRequest = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, setHost: headers.host === undefined });
    req.on('response', resolve);
    req.on('error', reject);
    req.end(body);
  });
}

export interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  /** The body parsed as JSON, or null when it is not JSON. */
  json: Record<string, unknown> | null;
}

export async function rawFetch(url: string, opts: RawRequest = {}): Promise<RawResponse> {
  const res = await rawRequest(url, opts);
  let text = '';
  for await (const chunk of res) text += (chunk as Buffer).toString('utf8');
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: res.statusCode ?? 0, headers: res.headers, text, json };
}
