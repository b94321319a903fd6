/**
 * Reactor's evaluation of registered versions: `POST /api/models/{type}/{version}/evaluate` with
 * `{experiences}` or a drop-box `{file}`, and the candidate-vs-stable figures a finishing job records in
 * its manifest. Predictors stay loaded in a small LRU, so evaluating a version again skips loading it.
 */
import { ModelEvaluationFile, ModelEvaluationInvalidOption, ModelEvaluationInvalidRequest, ModelEvaluationNoData } from '../errors.js';
import { examplesFromExperiences, summarizeItemErrors } from '../experiences/index.js';
import type { ModelType } from '../model-types.js';
import { assertModelType, type ModelRegistry } from '../registry/index.js';
import { CALIBRATION_FILE, PROBE_FILE, evaluateCompletion, probeInputOf, readExportJson, type CompletionInput } from './completion-evaluation.js';
import { ONNX_DESCRIPTION_FILE } from '../models/kernels/onnx-export.js';
import { readDropboxFile } from './dropbox.js';
import { evaluatePredictor, evaluateVersion, type EvaluationResult, type ItemRejection } from './evaluate.js';
import { PredictorCache } from './predictor-cache.js';
import type { Example } from '../models/types.js';

export interface EvaluationServiceLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface EvaluationServiceOptions {
  /** Where registered versions live and which one is stable. */
  registry: Pick<ModelRegistry, 'pathOf' | 'stable'>;
  /** MIN_EXPERIENCE_QUALITY: an item training would not use is not evaluated either (it is listed as rejected). */
  minQuality: number;
  /** The one folder a `{file}` may lie in: TRAINING_DROPBOX_DIR, or another the operator allows. */
  fileRoot: string;
  /** How messages name `fileRoot` (see dropboxLabel). Default `TRAINING_DROPBOX_DIR`. */
  fileRootName?: string;
  /** Loaded predictors; default a PredictorCache of DEFAULT_PREDICTOR_CACHE_SIZE versions. */
  cache?: PredictorCache;
  /** Receives problems with side files of an export (calibration, probe). Default: none. */
  logger?: EvaluationServiceLogger;
}

/** The evaluate body: exactly one of the two. */
export interface EvaluateRequest {
  experiences?: unknown[];
  /** A .json, .json.gz or .jsonl file inside `fileRoot` (absolute, or relative to it). */
  file?: string;
}

export type EvaluateResponse = { model_type: ModelType; version: string } & EvaluationResult;

export class EvaluationService {
  readonly #opts: EvaluationServiceOptions;
  readonly #cache: PredictorCache;

  constructor(options: EvaluationServiceOptions) {
    const { registry, minQuality, fileRoot } = options ?? ({} as Partial<EvaluationServiceOptions>);
    if (typeof registry?.pathOf !== 'function' || typeof registry.stable !== 'function') throw ModelEvaluationInvalidOption('registry', 'a ModelRegistry', typeof registry);
    if (typeof minQuality !== 'number' || !Number.isFinite(minQuality)) throw ModelEvaluationInvalidOption('minQuality', 'a finite number', minQuality);
    if (typeof fileRoot !== 'string' || fileRoot === '') throw ModelEvaluationInvalidOption('fileRoot', 'a non-empty path', fileRoot);
    this.#opts = options;
    this.#cache = options.cache ?? new PredictorCache();
  }

  /** Throws 400 for an unknown type or bad body, 404 for a version that is not registered, 400 when nothing can be evaluated. */
  async evaluate(type: string, version: string, body: EvaluateRequest): Promise<EvaluateResponse> {
    const dir = await this.#opts.registry.pathOf(type, version);
    const modelType = assertModelType(type);
    const raw = await this.#itemsOf(body);
    if (raw.length === 0) throw ModelEvaluationNoData(type, version, 'no experiences given');
    const items = examplesFromExperiences(raw, modelType, this.#opts.minQuality);
    const unused = [...items.rejected, ...items.skipped];
    if (items.examples.length === 0) throw ModelEvaluationNoData(type, version, summarizeItemErrors(byIndex(unused), raw.length));
    const examples: Example[] = items.examples.map(({ split: _split, ...example }) => example);
    const result = await this.#cache.use(modelType, version, dir, (p) => evaluatePredictor(p, examples));
    // The evaluators number items by their position among the examples; callers know them by their position in the body.
    const rejected = byIndex([...unused, ...result.rejected.map((r) => ({ index: items.positions[r.index], error: r.error }))]);
    if (result.n === 0) throw ModelEvaluationNoData(type, version, summarizeItemErrors(rejected, raw.length));
    return { model_type: modelType, version, ...result, rejected };
  }

  /**
   * The manifest fields a finishing job adds (`evaluation`, `calibration`, `probe_input`, `onnx`): the export and the
   * current stable version on the job's validation split. Never throws; problems are recorded and logged.
   */
  async assessExport(input: CompletionInput): Promise<Record<string, unknown>> {
    const { modelType, exportDir, jobId } = input;
    const stable = await this.#stableOf(modelType);
    const evaluation = await evaluateCompletion(input, {
      candidate: (examples) => evaluateVersion(modelType, exportDir, examples),
      stable: stable && {
        version: stable.version,
        evaluate: (examples) => this.#cache.use(modelType, stable.version, stable.dir, (p) => evaluatePredictor(p, examples)),
      },
    });
    const problem = (message: string) => this.#opts.logger?.warn({ job_id: jobId, model_type: modelType }, `export side file left out of the manifest: ${message}`);
    const extra: Record<string, unknown> = { evaluation };
    const calibration = await readExportJson(exportDir, CALIBRATION_FILE, problem);
    if (calibration !== undefined) extra.calibration = calibration;
    const probe = probeInputOf(await readExportJson(exportDir, PROBE_FILE, problem));
    if (probe !== undefined) extra.probe_input = probe;
    // The portable model's description (docs/onnx-export.md); exports from before it have none.
    const onnx = await readExportJson(exportDir, ONNX_DESCRIPTION_FILE, problem);
    if (onnx !== undefined) extra.onnx = onnx;
    return extra;
  }

  /** Frees the loaded predictors; safe to call twice. */
  close(): void {
    this.#cache.close();
  }

  async #stableOf(type: ModelType): Promise<{ version: string; dir: string } | null> {
    try {
      const info = await this.#opts.registry.stable(type);
      return info ? { version: info.version, dir: await this.#opts.registry.pathOf(type, info.version) } : null;
    } catch (err) {
      this.#opts.logger?.warn({ err, model_type: type }, 'could not look up the stable version; evaluating the new version alone');
      return null;
    }
  }

  async #itemsOf(body: EvaluateRequest): Promise<unknown[]> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw ModelEvaluationInvalidRequest('the body must be an object with experiences or file');
    const { experiences, file } = body;
    if ((experiences === undefined) === (file === undefined)) throw ModelEvaluationInvalidRequest('give exactly one of experiences (a list) and file (a path in the drop-box)');
    if (experiences !== undefined) {
      if (!Array.isArray(experiences)) throw ModelEvaluationInvalidRequest('experiences must be a list of experiences');
      return experiences;
    }
    if (typeof file !== 'string' || file === '') throw ModelEvaluationInvalidRequest('file must be a non-empty path');
    return readDropboxFile(file, this.#opts.fileRoot, { fail: ModelEvaluationFile, field: 'file', rootName: this.#opts.fileRootName ?? 'TRAINING_DROPBOX_DIR' });
  }
}

function byIndex(items: ItemRejection[]): ItemRejection[] {
  return items.sort((a, b) => a.index - b.index);
}
