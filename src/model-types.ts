/** The built-in model types (CONTRACT §2) and how experience `type`s map onto them. */
export const MODEL_TYPES = ['voice', 'nlu', 'vision', 'embedding'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

export function isModelType(v: unknown): v is ModelType {
  return typeof v === 'string' && (MODEL_TYPES as readonly string[]).includes(v);
}

/** Experience `type` → model type, as the original JARVIS forwarder names them. */
export const EXPERIENCE_TYPE_TO_MODEL: Readonly<Record<string, ModelType>> = Object.freeze({
  voice_auth: 'voice',
  command: 'nlu',
  interaction: 'nlu',
  vision: 'vision',
  embedding: 'embedding',
  pair: 'embedding',
});
