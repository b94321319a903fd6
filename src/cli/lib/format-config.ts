/**
 * `trinity config` output: the resolved configuration flattened to dotted keys, secrets masked, so it
 * can be pasted into a bug report as it is.
 */
import type { Config } from '../../config/config.js';

const MASK = '********';

/** Copies the config with the API token hidden and any password in the database URL replaced. */
export function maskSecrets(config: Config): Record<string, unknown> {
  const copy = structuredClone(config) as Record<string, unknown>;
  if (typeof copy.apiToken === 'string') copy.apiToken = MASK;
  if (typeof copy.databaseUrl === 'string') copy.databaseUrl = maskUrlPassword(copy.databaseUrl);
  return copy;
}

export function maskUrlPassword(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password === '') return raw;
    u.password = MASK;
    return u.toString();
  } catch {
    return raw;
  }
}

/** What an unset value means, where it means more than "not set". */
const UNSET_MEANS: Readonly<Record<string, string>> = {
  'resources.trainingMemoryReserveGb': "(unset: each job's estimate)",
};

/** `{reactor: {url}}` → `[["reactor.url", "http://…"]]`; unset values read `(unset)`, lists join with commas. */
export function flattenConfig(value: Record<string, unknown>, prefix = ''): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...flattenConfig(v as Record<string, unknown>, key));
    else out.push([key, v === undefined || v === null ? (UNSET_MEANS[key] ?? '(unset)') : Array.isArray(v) ? v.join(',') : String(v)]);
  }
  return out;
}

/** JSON form: unset values are `null` rather than missing, so every key is listed. */
export function configToJson(config: Config): string {
  return JSON.stringify(maskSecrets(config), (_k, v: unknown) => (v === undefined ? null : v), 2);
}
