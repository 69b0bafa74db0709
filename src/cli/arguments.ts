import { InvalidArgumentError } from 'commander';

export function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('expected a positive integer');
  return number;
}

export function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a positive number');
  return number;
}

/** `--store` help, by what the command is given: the default store follows the config file (docs/concepts/store.md). */
export const STORE_HELP = {
  /** A config file only. */
  config: 'store file or postgres:// URL (default: the config runtime.store, else $ASSAY_STORE, else .assay/assay.db beside the config)',
  /** A config file or a run id. */
  reference: 'store file or postgres:// URL (default: the config runtime.store, else $ASSAY_STORE, else .assay/assay.db beside the config, or in the current folder for a run id)',
  /** No config: a store of the current folder. */
  here: 'store file or postgres:// URL (default: $ASSAY_STORE, else .assay/assay.db in the current folder)',
} as const;
