/**
 * The rollout controller: a pure function of the deployment's spec, its status, what prime reported and
 * the time (DESIGN.md "Deployment"). It collects the operator's intents first, then applies the rules in
 * order: abort, promote, pause/resume, a canary prime cannot load, an error rate over the limit, and
 * finally the strategy's progression. Each change is a decision with a stable reason and its numbers;
 * a reconcile that changes nothing returns the very status it was given.
 */
import { Draft } from './draft.js';
import { isBreached, round3, stepFigures, twoProportionZTest, type StepFigures } from './measure.js';
import type { Intent, Observations, Phase, ReconcileResult, RolloutSpec, RolloutStatus, SplitPointers } from './types.js';

/** Where a deployment starts, with its `started` decision (or an immediate end when there is nothing to roll out). */
export function initialStatus(spec: RolloutSpec, now: number): ReconcileResult {
  const base: RolloutStatus = {
    phase: 'deploying',
    currentPercentage: spec.steps[0],
    stepIndex: 0,
    stepStartedAt: now,
    stepBaseline: {},
    conditions: [],
    updatedAt: now,
    finishedAt: null,
  };
  const d = new Draft(base, now);
  const v = spec.modelVersion;
  if (spec.previousVersion === v) {
    d.finish('completed', 'AlreadyStable', `${v} is already the stable ${spec.modelType} version`);
  } else if (spec.previousVersion === null) {
    d.finish('completed', 'NoStableVersion', `${spec.modelType} had no stable version: ${v} is stable now`);
  } else {
    d.start('DeploymentStarted', startMessage(spec), { step_index: 0 });
  }
  return d.result();
}

function startMessage(s: RolloutSpec): string {
  const head = `deploying ${s.modelVersion} (${s.strategy})`;
  if (s.strategy === 'immediate') return `${head}: all ${s.modelType} traffic at once`;
  if (s.strategy === 'blue_green') return `${head}: loading it next to ${s.previousVersion} before switching all ${s.modelType} traffic`;
  return `${head}: ${s.steps[0]} % of ${s.modelType} traffic to start, ${s.previousVersion} keeps the rest`;
}

/** The controller. `obs.counts` are accumulated since the deployment began; `now` is the only clock. */
export function reconcile(spec: RolloutSpec, status: RolloutStatus, obs: Observations, now: number): ReconcileResult {
  const d = new Draft(status, now);
  if (d.isFinished) return d.result();
  const pct = status.currentPercentage;

  // 1. Operator intents, collected before anything is decided.
  const intents = collectIntents(obs.intents);
  if (intents.abort) {
    d.finish('aborted', 'OperatorAborted', `abort: operator aborted at ${pct} %; ${spec.previousVersion} serves everything`);
    return d.result();
  }
  if (intents.promote) {
    d.finish('completed', 'OperatorPromoted', `promote: operator made ${spec.modelVersion} stable at ${pct} %`, canaryNumbers(spec, d.status, obs, now));
    return d.result();
  }
  if (intents.last === 'pause') d.pause('OperatorPaused', `pause: operator paused at ${pct} %`);
  if (intents.last === 'resume') d.resume('OperatorResumed', `resume: operator resumed at ${pct} %; the step's measurement starts over`, obs.counts);

  // 2. Failures: these act while paused too, since traffic still reaches the canary.
  if (obs.canaryLoad === 'failed') {
    d.finish('rolled_back', 'CanaryLoadFailed', `rollback: prime could not load ${spec.modelVersion}: ${obs.canaryLoadError ?? 'unknown error'}`);
    return d.result();
  }
  const canary = stepFigures(obs.counts, d.status.stepBaseline, spec.modelVersion);
  if (isBreached(canary, spec.rollbackOnErrorRate, spec.minSamples)) {
    const numbers = { ...canaryNumbers(spec, d.status, obs, now), threshold: spec.rollbackOnErrorRate };
    const what = `error rate ${round3(canary.errorRate)} > ${spec.rollbackOnErrorRate} over ${canary.outcomes} outcomes`;
    if (spec.autoRollback) d.finish('rolled_back', 'ErrorRateExceeded', `rollback: ${what}`, numbers);
    else d.pause('ErrorRateExceeded', `pause: ${what}; auto_rollback is off`, numbers);
    if (d.isFinished) return d.result();
  }
  if (d.status.phase === 'paused') return d.result();

  // 3. The strategy's progression.
  if (spec.strategy === 'ab_test') decideAbTest(spec, d, obs);
  else if (spec.strategy === 'blue_green' && d.status.stepIndex === 0) warmBlueGreen(spec, d, obs);
  else progress(spec, d, obs, canary);
  return d.result();
}

interface CollectedIntents {
  abort: boolean;
  promote: boolean;
  /** Of pause and resume, the one asked last. */
  last: 'pause' | 'resume' | null;
}

function collectIntents(intents: readonly Intent[]): CollectedIntents {
  let last: CollectedIntents['last'] = null;
  for (const i of intents) if (i === 'pause' || i === 'resume') last = i;
  return { abort: intents.includes('abort'), promote: intents.includes('promote'), last };
}

/** gradual_rollout, canary, immediate and blue_green after the switch: hold, then the next step or the end. */
function progress(spec: RolloutSpec, d: Draft, obs: Observations, canary: StepFigures): void {
  const { stepIndex, currentPercentage: pct } = d.status;
  const numbers = canaryNumbers(spec, d.status, obs, d.now);
  // Reaching 100 % makes the canary stable, except blue_green, whose 100 % step holds with the old version loaded.
  if (pct >= 100 && spec.strategy !== 'blue_green') {
    d.finish('completed', 'RolloutCompleted', `complete: ${spec.modelVersion} is stable`, numbers);
    return;
  }
  if (!holdIsOver(spec, d, canary, numbers)) return;
  const health = `error rate ${round3(canary.errorRate)} ≤ ${spec.rollbackOnErrorRate} over ${canary.outcomes} outcomes`;
  const next = spec.steps[stepIndex + 1];
  if (next === undefined || next >= 100) {
    d.finish('completed', 'RolloutCompleted', `complete: ${spec.modelVersion} is stable (${health} at ${pct} %)`, numbers);
    return;
  }
  d.advance(stepIndex + 1, next, 'StepAdvanced', `advance: ${pct} % → ${next} %: ${health}`, obs.counts, numbers);
}

/** True once the window has lasted monitor_duration and the canary has min_samples outcomes; else notes the wait. */
function holdIsOver(spec: RolloutSpec, d: Draft, canary: StepFigures, numbers: Record<string, number>, stable?: StepFigures): boolean {
  const pct = d.status.currentPercentage;
  const short = Math.min(canary.outcomes, stable?.outcomes ?? Infinity) < spec.minSamples;
  if (short) {
    const arms = stable === undefined ? 'canary outcomes' : 'outcomes on each version';
    d.wait('WaitingForSamples', `holding at ${pct} %: waiting for ${spec.minSamples} ${arms}`, numbers);
    return false;
  }
  if (d.now - d.status.stepStartedAt < spec.monitorDurationMs) {
    d.wait('WaitingForDuration', `holding at ${pct} %: monitoring for ${spec.monitorDurationMs / 1000} s`, numbers);
    return false;
  }
  return true;
}

/** blue_green step 0: nothing moves until prime has loaded and warmed the new version. */
function warmBlueGreen(spec: RolloutSpec, d: Draft, obs: Observations): void {
  if (obs.canaryLoad !== 'ready') {
    d.wait('WaitingForWarmup', `waiting for prime to load and warm ${spec.modelVersion}`, {});
    return;
  }
  const msg = `switch: ${spec.modelVersion} is loaded and warm; 100 % to it, ${spec.previousVersion} stays loaded for an instant rollback`;
  d.advance(1, 100, 'TrafficSwitched', msg, obs.counts, {});
}

/** ab_test: hold the split; once both arms have their samples and the window has passed, the z-test decides. */
function decideAbTest(spec: RolloutSpec, d: Draft, obs: Observations): void {
  const canary = stepFigures(obs.counts, d.status.stepBaseline, spec.modelVersion);
  const stable = stepFigures(obs.counts, d.status.stepBaseline, spec.previousVersion);
  const t = twoProportionZTest(canary, stable, spec.confidence);
  const numbers = {
    ...canaryNumbers(spec, d.status, obs, d.now),
    stable_samples: stable.outcomes,
    stable_errors: stable.errors,
    stable_error_rate: round3(stable.errorRate),
    z: round3(t.z),
    critical_z: round3(t.critical),
    confidence: spec.confidence,
  };
  if (!holdIsOver(spec, d, canary, numbers, stable)) return;
  const figures = `${round3(canary.errorRate)} vs ${round3(stable.errorRate)}, z ${round3(t.z)}, n ${canary.outcomes}/${stable.outcomes}`;
  if (t.verdict === 'better') {
    d.finish('completed', 'CanaryBetter', `promote: ${spec.modelVersion} errs significantly less than ${spec.previousVersion} (${figures})`, numbers);
  } else if (t.verdict === 'worse') {
    const what = `${spec.modelVersion} errs significantly more than ${spec.previousVersion} (${figures})`;
    if (spec.autoRollback) d.finish('rolled_back', 'CanaryWorse', `rollback: ${what}`, numbers);
    else d.pause('CanaryWorse', `pause: ${what}; auto_rollback is off`, numbers);
  } else {
    d.wait('NoSignificantDifference', `holding at ${d.status.currentPercentage} %: no significant difference at ${spec.confidence} confidence yet`, numbers);
  }
}

/** The canary's figures in the current window, as decisions carry them. */
function canaryNumbers(spec: RolloutSpec, status: RolloutStatus, obs: Observations, now: number): Record<string, number> {
  const c = stepFigures(obs.counts, status.stepBaseline, spec.modelVersion);
  return {
    step_index: status.stepIndex,
    step_percentage: status.currentPercentage,
    samples: c.outcomes,
    errors: c.errors,
    error_rate: round3(c.errorRate),
    elapsed_seconds: Math.round((now - status.stepStartedAt) / 100) / 10,
  };
}

/** Ends an active deployment because the operator rolled the model type back (POST /api/models/rollback). */
export function rollbackByOperator(spec: RolloutSpec, status: RolloutStatus, target: string, now: number): ReconcileResult {
  const d = new Draft(status, now);
  if (!d.isFinished) d.finish('rolled_back', 'OperatorRollback', `rollback: operator rolled ${spec.modelType} back to ${target}`);
  return d.result();
}

/** What prime serves for the deployment's model type in this status. */
export function pointersFor(spec: RolloutSpec, status: RolloutStatus): SplitPointers {
  if (status.phase === 'completed') return { stable: spec.modelVersion, canary: null, canaryPercentage: 0 };
  if (status.phase === 'rolled_back' || status.phase === 'aborted') return { stable: spec.previousVersion, canary: null, canaryPercentage: 0 };
  return { stable: spec.previousVersion, canary: spec.modelVersion, canaryPercentage: status.currentPercentage };
}

/**
 * What an operator command does in a phase: `apply` changes something, `noop` finds it already done
 * (commands are idempotent), `conflict` cannot be honoured (409).
 */
export function intentEffect(phase: Phase, intent: Intent): 'apply' | 'noop' | 'conflict' {
  const table: Record<Phase, Record<Intent, 'apply' | 'noop' | 'conflict'>> = {
    deploying: { promote: 'apply', pause: 'apply', resume: 'noop', abort: 'apply' },
    paused: { promote: 'apply', pause: 'noop', resume: 'apply', abort: 'apply' },
    completed: { promote: 'noop', pause: 'conflict', resume: 'conflict', abort: 'conflict' },
    // The new version already serves nothing: an abort asks for what is already so.
    rolled_back: { promote: 'conflict', pause: 'conflict', resume: 'conflict', abort: 'noop' },
    aborted: { promote: 'conflict', pause: 'conflict', resume: 'conflict', abort: 'noop' },
  };
  return table[phase][intent];
}
