/**
 * The demo's last step: real questions to J-Prime (`POST /api/predict/nlu`), with the intent, confidence
 * and version it answered. One question is none of the data's intents, and the demo says plainly what
 * the model did with it: nlu picks among the intents it was trained on, unless J-Prime's answer says
 * whether the text is in scope at all (`in_scope`), which the demo then shows.
 */
import { fmtNum } from '../format.js';
import { nluAnswerSchema, type NluAnswer, type ServiceApi } from './api.js';
import { MODEL_TYPE } from './round.js';
import type { DemoReport } from './report.js';

export const DEMO_QUESTIONS: readonly string[] = [
  'play some jazz by miles davis',
  'book a table for two at an italian restaurant tonight',
  "what's the weather in paris tomorrow",
];
/** Small talk: not one of SNIPS's seven intents. */
export const OUT_OF_SCOPE_QUESTION = 'hello how are you';

/** One session for every question, so they all go to the same version of the split. */
const SESSION_ID = 'trinity-demo';

export async function showPredictions(prime: ServiceApi, report: DemoReport, intents: number): Promise<NluAnswer[]> {
  const answers: NluAnswer[] = [];
  const width = Math.max(...[...DEMO_QUESTIONS, OUT_OF_SCOPE_QUESTION].map((q) => q.length)) + 2;
  for (const text of [...DEMO_QUESTIONS, OUT_OF_SCOPE_QUESTION]) {
    const a = await prime.post(`/api/predict/${MODEL_TYPE}`, { input: { text }, session_id: SESSION_ID }, nluAnswerSchema);
    answers.push(a);
    const scope = a.in_scope === undefined ? '' : `  in_scope ${a.in_scope}`;
    report.step('predicted', `${JSON.stringify(text).padEnd(width)} → ${a.intent} ${fmtNum(a.confidence, 3)}${scope} (${a.model_version})`);
    if (text === OUT_OF_SCOPE_QUESTION) report.more(outOfScopeNote(a, intents));
  }
  return answers;
}

export function outOfScopeNote(a: NluAnswer, intents: number): string {
  if (a.in_scope === false) return `J-Prime says this small talk is none of the ${intents} intents it knows`;
  if (a.in_scope === true) return `small talk is none of the ${intents} intents, but J-Prime took it as one of them`;
  return `small talk is none of the ${intents} intents; nlu has no "none of these" answer yet, so it names the closest one`;
}
