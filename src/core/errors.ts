/**
 * One error hierarchy for the whole tool. A `UserError` is something the user can fix (bad config, missing
 * file, a run that already exists): the CLI prints its message as one line and exits 1. Anything else is an
 * internal error: printed with its stack, exit 2.
 */
export class AssayError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  static isInstance(value: unknown): value is AssayError {
    return value instanceof AssayError;
  }
}

export class UserError extends AssayError {
  /** What the user should do about it, appended to the message line. */
  readonly hint: string | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; hint?: string }) {
    super(code, message, options);
    this.hint = options?.hint;
  }

  static override isInstance(value: unknown): value is UserError {
    return value instanceof UserError;
  }

  /** The single line a user sees. */
  line(): string {
    return this.hint ? `${this.message}; ${this.hint}` : this.message;
  }
}

/** One problem of a config: where (`file:line` when known) and what. */
export interface ConfigProblem {
  readonly location: string;
  readonly message: string;
}

/**
 * A config file that cannot be read, parsed or validated. `location` is `file:line` when known. With several
 * problems the message is a summary and `problems` lists each one (the CLI prints one line for each).
 */
export class ConfigError extends UserError {
  readonly location: string;
  readonly problems: readonly ConfigProblem[];
  /** Problems found beyond those listed in `problems`. */
  readonly unlisted: number;

  constructor(location: string, message: string, options?: { cause?: unknown; hint?: string; problems?: readonly ConfigProblem[]; unlisted?: number }) {
    super('config_invalid', `${location}: ${message}`, options);
    this.location = location;
    this.problems = options?.problems ?? [{ location, message }];
    this.unlisted = options?.unlisted ?? 0;
  }

  static override isInstance(value: unknown): value is ConfigError {
    return value instanceof ConfigError;
  }
}

/** A dataset file that cannot be read or has a bad row. `location` is `file:line` when known. */
export class DatasetError extends UserError {
  readonly location: string;

  constructor(location: string, message: string, options?: { cause?: unknown; hint?: string }) {
    super('dataset_invalid', `${location}: ${message}`, options);
    this.location = location;
  }
}

export class RunNotFoundError extends UserError {
  constructor(reference: string, storeLocation: string) {
    super('run_not_found', `no run matching '${reference}' in store ${storeLocation}`, {
      hint: 'pass the experiment config file (a run started from a config is kept beside it, in <config folder>/.assay/assay.db), or list runs with `assay runs --store PATH`',
    });
  }
}

export class RunExistsError extends UserError {
  constructor(runId: string, status: string) {
    super('run_exists', `run ${runId} already exists (status ${status}) and the existing-run policy is 'error'`, {
      hint: "use --existing-run-policy auto to resume it or rerun to start it over",
    });
  }
}

export class RunBusyError extends UserError {
  constructor(runId: string, holders: string) {
    super('run_busy', `run ${runId} is being executed by ${holders}`, {
      hint: 'wait for it to finish, or stop it before using --existing-run-policy rerun',
    });
  }
}

export class StoreError extends UserError {
  constructor(location: string, message: string, options?: { cause?: unknown; hint?: string }) {
    super('store_invalid', `${location}: ${message}`, options);
  }
}

/** Why a store could not make a write: each has its own advice. */
export type StoreFailureReason = 'disk_full' | 'read_only' | 'io' | 'corrupt' | 'busy' | 'connection';

const STORE_FAILURE_TEXT: Readonly<Record<StoreFailureReason, { what: string; hint: string }>> = {
  disk_full: { what: 'disk full', hint: 'free space and run the same command again' },
  read_only: { what: 'the store is read-only', hint: 'make it writable (or pass --store with a writable path) and run the same command again' },
  io: { what: 'an I/O error', hint: 'check the disk, then run the same command again' },
  corrupt: { what: 'the store file is damaged', hint: 'restore it from a copy, or pass --store with another path' },
  busy: { what: 'the store stayed locked by another process', hint: 'run the same command again when it is free' },
  connection: { what: 'the connection to the store was lost', hint: 'check the database server, then run the same command again' },
};

/**
 * A store refused a write (or a read) for a reason outside assay: disk full, read-only, I/O error, damage, a
 * lock held too long, a lost connection. Nothing was changed by the failed operation.
 */
export class StoreUnavailableError extends UserError {
  readonly reason: StoreFailureReason;
  readonly storeLocation: string;
  private readonly detail: string | undefined;

  constructor(location: string, reason: StoreFailureReason, options?: { cause?: unknown; detail?: string; saved?: string }) {
    const text = STORE_FAILURE_TEXT[reason];
    const detail = options?.detail ? ` (${options.detail})` : '';
    const saved = options?.saved ? `: ${options.saved}` : '';
    super('store_unavailable', `${text.what} at ${location}${detail}${saved}`, { hint: text.hint, ...(options?.cause !== undefined ? { cause: options.cause } : {}) });
    this.reason = reason;
    this.storeLocation = location;
    this.detail = options?.detail;
  }

  /** The same failure, told with what was saved before it ("412 of 1000 tasks are done and saved"). */
  withSaved(saved: string): StoreUnavailableError {
    return new StoreUnavailableError(this.storeLocation, this.reason, { cause: this.cause, saved, ...(this.detail ? { detail: this.detail } : {}) });
  }

  static override isInstance(value: unknown): value is StoreUnavailableError {
    return value instanceof StoreUnavailableError;
  }
}

/**
 * A claim, append or heartbeat named an owner the store does not know (never registered, or removed because
 * its lease lapsed). Its writes are refused: it must register again and learn which leases it still holds.
 */
export class OwnerUnknownError extends AssayError {
  constructor(readonly owner: string) {
    super('owner_unknown', `owner ${owner} is not registered with this store (its lease lapsed, or it never registered)`);
  }

  static override isInstance(value: unknown): value is OwnerUnknownError {
    return value instanceof OwnerUnknownError;
  }
}

/** Unexpected internal state; a bug in assay rather than something the user can fix. */
export class InternalError extends AssayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

/**
 * Thrown by a metric or parser when an item's target cannot be used (e.g. not a number). Recorded as a
 * failure of that task's stage: it is a data problem to fix, not a wrong answer.
 */
export class InvalidTargetError extends AssayError {
  constructor(message: string) {
    super('invalid_target', message);
  }
}
