// Writes docs/errors.md from the error catalogue (run after `npm run build`: `npm run docs:errors`).
import { writeFileSync } from 'node:fs';
import { listErrorCodes } from '../dist/errors.js';

const rows = listErrorCodes().map((e) => `| \`${e.code}\` | ${e.statusCode} | ${e.template.replaceAll('|', '\\|')} |`);
const text = `# Error codes

Every HTTP error of every Trinity service is JSON \`{"error", "details", "code"}\` (plus fields such as
\`seen\` or \`active_job_id\` where the contract names them). \`code\` is one of these; \`%s\`/\`%j\`/\`%d\`
stand for the value received. Generated from \`src/errors.ts\` by \`npm run docs:errors\`.

| code | status | message |
| --- | --- | --- |
${rows.join('\n')}
`;
writeFileSync(new URL('../docs/errors.md', import.meta.url), text);
