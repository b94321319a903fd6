/**
 * fast-check arbitraries for hostile requests: bodies (JSON of every shape, prototype keys, deep nesting,
 * invalid UTF-8, wrong content types, near the body limit), path params, query strings and headers.
 */
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import type { Route } from './services.js';

/** Field names the services read, so near-valid bodies get past the first checks. */
const FIELDS = [
  'model_type', 'job_id', 'experiences', 'input', 'text', 'session_id', 'prediction_id', 'success', 'model_version', 'strategy',
  'config', 'epochs', 'dataset_path', 'use_dropbox', 'priority', 'stable', 'canary', 'canary_percentage', 'deployment_id',
  'previous_version', 'fencing_token', 'type', 'expected_output', 'batch_id', 'event_type', 'payload', 'force', '__proto__', 'constructor',
  // A training start's options, so `config` objects carry them (each type bounds them differently).
  'batch_size', 'learning_rate', 'model_architecture', 'seed',
];

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '', '../../etc/passwd', '/etc/passwd', '/etc/shadow', '..', '.', '__proto__', 'constructor', 'prototype', 'toString',
    'nlu', 'voice', 'vision', 'embedding', 'v1.0.0', 'v99.0.0', 'immediate', 'gradual_rollout', 'HIGH', 'CRITICAL',
    'fasttext-hidden', 'linear', 'cnn@16x12', 'cnn@36x36', 'ngram-bag-projection',
    '\u0000', '\ud800', '%00', '%2e%2e%2f', 'a'.repeat(5000), '<script>alert(1)</script>', 'fuzz-base',
  ),
);

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-1, 0, 1, 2 ** 31, 2 ** 53 + 1, 1e308, -1e308, 0.5, 101, 1024, 1025, 4096, 4097, 65_536, 10_001),
);

const leaf = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null));

/** JSON values built from the services' own field names, nested a little. */
const nearValid: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('object'), fc.array(tie('value'), { maxLength: 4 })),
  object: fc.dictionary(fc.constantFrom(...FIELDS), tie('value'), { maxKeys: 6 }),
})).object;

/** Bodies that are not valid UTF-8, sent as JSON. */
const invalidUtf8 = fc.constantFrom(
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  Buffer.from([0xc3, 0x28]),
  Buffer.concat([Buffer.from('{"experiences":[{"type":"command","input":{"text":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}]}')]),
);

/** Raw bodies as sent (a content type is chosen separately). */
const rawBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  invalidUtf8,
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  nearValid.map((v) => JSON.stringify(v)),
  // Prototype keys as JSON.parse sees them: own properties named __proto__ / constructor.
  fc.constantFrom(
    '{"__proto__": {"polluted": true}, "model_type": "nlu"}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    '{"experiences": [{"type": "__proto__", "input": {"text": "x"}}]}',
    '{"experiences": [{"type": "constructor", "input": {"__proto__": {"text": "x"}}}]}',
    '{"model_type": "__proto__"}',
    '{"input": {"__proto__": {"text": "x"}}, "session_id": "__proto__"}',
  ),
  fc.integer({ min: 100, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 100, max: 20_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  fc.constantFrom('', '{', '{"a":', 'null', 'true', '"string"', '12', '[]', '{}', 'not json at all', '\uFEFF{}'),
  // Near and over the 256 KB limit.
  fc.constantFrom(200_000, 300_000).map((n) => JSON.stringify({ experiences: [{ type: 'command', input: { text: 'x'.repeat(n) } }] })),
);

const contentType = fc.constantFrom(
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x', 'application/octet-stream', 'application/x-ndjson', 'text/event-stream', 'application/json;;;', '',
);

const printable = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);

const headers = fc.record(
  {
    accept: fc.oneof(fc.constantFrom('text/event-stream', 'application/x-ndjson', 'application/json', '*/*', 'text/html'), printable),
    'last-event-id': fc.oneof(fc.constantFrom('-1', '0', '1', '99999999999999999999', 'abc', '1e3'), printable),
    authorization: fc.oneof(fc.constantFrom('Bearer ', 'Bearer x', 'Basic YTpi'), printable),
    origin: fc.constantFrom('http://evil.example', 'null', 'http://127.0.0.1'),
    host: fc.constantFrom('evil.example', '127.0.0.1', 'localhost:1', '[::1]'),
    'x-forwarded-for': printable,
    'accept-encoding': fc.constantFrom('gzip', 'br', 'identity', '*'),
  },
  { requiredKeys: [] },
);

/** Percent-encodes any string; a lone surrogate (which encodeURIComponent refuses) goes as U+FFFD, as a client would send it. */
const encodeSegment = (s: string) => encodeURIComponent(s.replace(/\p{Cs}/gu, '\uFFFD'));

/** A path segment: arbitrary text encoded, or a hostile raw form. */
function param(knownIds: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 30 }).map(encodeSegment),
    hostileString.map(encodeSegment),
    fc.constantFrom(...knownIds),
    fc.constantFrom('..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%00', '%ZZ', '%', '%E0%A4%A', '..', 'a'.repeat(300), '%5F%5Fproto%5F%5F', 'nlu%2Fv1.0.0'),
  );
}

const query = fc.dictionary(fc.constantFrom('status', 'model_type', 'limit', 'since', 'token', 'stream', '__proto__', 'constructor'), hostileString, { maxKeys: 3 });

export interface FuzzRequest {
  options: InjectOptions;
  /** Everything the request carried, to tell an echo of the input from a leak. */
  text: string;
}

/** Requests for one route: its params filled in, a hostile body for methods that take one, query and headers. */
export function requestFor(route: Route, knownIds: readonly string[]): fc.Arbitrary<FuzzRequest> {
  const names = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]);
  const params = fc.tuple(...names.map(() => param(knownIds)));
  const takesBody = route.method !== 'GET' && route.method !== 'DELETE';
  return fc
    .record({
      params,
      query,
      headers,
      body: takesBody ? fc.option(rawBody, { nil: undefined }) : fc.constant(undefined),
      contentType,
    })
    .map(({ params: values, query: q, headers: h, body, contentType: ct }) => {
      let i = 0;
      const url = route.url.replace(/:(\w+)/g, () => values[i++]) + (Object.keys(q).length ? `?${new URLSearchParams(q as Record<string, string>).toString()}` : '');
      const allHeaders: Record<string, string> = { ...(h as Record<string, string>) };
      if (body !== undefined && ct) allHeaders['content-type'] = ct;
      const options: InjectOptions = { method: route.method as InjectOptions['method'], url, headers: allHeaders, payload: body };
      return { options, text: decodeURIComponentSafe(url) + JSON.stringify(allHeaders) + String(body ?? '') };
    });
}

function decodeURIComponentSafe(s: string): string {
  try {
    return s + decodeURIComponent(s);
  } catch {
    return s;
  }
}

