/** nlu: `input.text` (or `query`, `utterance`) → intent. */
import { extractClassLabel, textField, type Extractor } from './common.js';

const TEXT_FIELDS = ['text', 'query', 'utterance'] as const;
const LABEL_FIELDS = ['intent', 'label'] as const;

export const nluExtractor: Extractor = {
  modelType: 'nlu',
  extract(input, lookup) {
    const text = textField(input, TEXT_FIELDS);
    if ('reason' in text) return { status: 'invalid', reason: text.reason };
    const label = extractClassLabel(lookup, LABEL_FIELDS);
    if (!('label' in label)) return label;
    return { status: 'ok', input: { text: text.text }, label: label.label };
  },
};
