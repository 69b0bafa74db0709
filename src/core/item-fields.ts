import type { DatasetIdentity } from '../spec/snapshot.js';
import { getField } from './field-path.js';
import { choiceLetter } from './prompt-template.js';

/** An item's input as assay reads it from a row: the field's text, or its JSON when it is not a string. */
export function inputOf(fields: Readonly<Record<string, unknown>>, dataset: Pick<DatasetIdentity, 'fields'>): string {
  const input = getField(fields, dataset.fields.input);
  return typeof input === 'string' ? input : JSON.stringify(input);
}

/**
 * An item's target from its row, or null when the dataset names none; for a dataset with `choices`, the
 * letter of the option it names (as the dataset reader made it when the row was checked).
 */
export function targetOf(fields: Readonly<Record<string, unknown>>, dataset: Pick<DatasetIdentity, 'fields'>): unknown {
  if (dataset.fields.target === null) return null;
  const target = getField(fields, dataset.fields.target) ?? null;
  if (dataset.fields.choices === undefined || target === null) return target;
  const chosen = choiceLetter(target, getField(fields, dataset.fields.choices));
  return 'letter' in chosen ? chosen.letter : target;
}
