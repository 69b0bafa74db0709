import type { DatasetIdentity } from '../spec/snapshot.js';
import { getField } from './field-path.js';

/** An item's input as assay reads it from a row: the field's text, or its JSON when it is not a string. */
export function inputOf(fields: Readonly<Record<string, unknown>>, dataset: Pick<DatasetIdentity, 'fields'>): string {
  const input = getField(fields, dataset.fields.input);
  return typeof input === 'string' ? input : JSON.stringify(input);
}

/** An item's raw target from its row, or null when the dataset names none. */
export function targetOf(fields: Readonly<Record<string, unknown>>, dataset: Pick<DatasetIdentity, 'fields'>): unknown {
  return dataset.fields.target === null ? null : (getField(fields, dataset.fields.target) ?? null);
}
