import { StoreError, StoreUnavailableError } from '../../core/errors.js';

/** Node and PostgreSQL error codes that mean the connection (not assay) failed: worth a new connection. */
// 25P03: the server ended a session left idle inside a transaction (idle_in_transaction_session_timeout).
const CONNECTION_CODES = new Set(['25P03', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether an error from node-postgres means the connection broke (a terminated backend, a reset socket, a restart). */
export function isConnectionError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  const message = (error as Error | null)?.message ?? '';
  return /Connection terminated|connection is closed|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message);
}

/** Whether a transaction failed only because it lost a race (a deadlock, a serialization failure): safe to retry. */
export function isRetryableConflict(error: unknown): boolean {
  const code = codeOf(error);
  return code === '40P01' || code === '40001';
}

/** The store failure an error from node-postgres stands for, or undefined when it is not one (a bug: rethrown). */
export function pgFailure(location: string, error: unknown): StoreUnavailableError | undefined {
  if (StoreUnavailableError.isInstance(error)) return error;
  if (isConnectionError(error)) return new StoreUnavailableError(location, 'connection', { cause: error, detail: (error as Error).message });
  const code = codeOf(error);
  if (code === '53100') return new StoreUnavailableError(location, 'disk_full', { cause: error, detail: code });
  if (code === '25006') return new StoreUnavailableError(location, 'read_only', { cause: error, detail: code });
  if (code === '55P03' || code === '57014') return new StoreUnavailableError(location, 'busy', { cause: error, detail: code });
  return undefined;
}

/** Why a store could not be opened at all, as one line naming it and what to do. */
export function openFailure(location: string, error: unknown): StoreError | StoreUnavailableError | undefined {
  if (StoreError.isInstance(error) || StoreUnavailableError.isInstance(error)) return error as StoreError;
  const code = codeOf(error);
  const message = (error as Error | null)?.message ?? String(error);
  if (code === '28P01' || code === '28000') {
    return new StoreError(location, `the PostgreSQL server refused the login (${message})`, {
      hint: 'check the user and password (in the URL, PGPASSWORD or ~/.pgpass)',
      cause: error,
    });
  }
  // node-postgres's own words when the server asks for a password (SCRAM) and none was given anywhere.
  if (/client password must be a string|SASL: .*password/i.test(message)) {
    return new StoreError(location, 'the PostgreSQL server asks for a password and none was given', {
      hint: 'give it in the URL (user:PASSWORD@host), in PGPASSWORD, or in ~/.pgpass',
      cause: error,
    });
  }
  if (code === '3D000') {
    return new StoreError(location, `no such database on the PostgreSQL server (${message})`, {
      hint: 'create it first (createdb NAME), or pass the URL of an existing database',
      cause: error,
    });
  }
  // PgBouncer's words in statement mode, at the first BEGIN: like transaction mode (see begin), refused.
  if (/not allowed in statement pooling mode/.test(message)) return sessionNotKept(location, `a pooler in statement mode in between: ${message}`, error);
  // PgBouncer's words when no server connection of the database's pool came free in time.
  if (/query_wait_timeout/.test(message)) {
    return new StoreError(location, 'PgBouncer found no free server connection for assay in time (query_wait_timeout)', {
      hint: "raise the database's default_pool_size in PgBouncer to at least the number of assay processes times ASSAY_PG_POOL_SIZE (4), or lower ASSAY_PG_POOL_SIZE",
      cause: error,
    });
  }
  if (isConnectionError(error)) {
    return new StoreError(location, `cannot reach the PostgreSQL server (${message})`, {
      hint: 'check the host and port in the URL and that the server is running',
      cause: error,
    });
  }
  return undefined;
}

/** The connection is not one session from one statement to the next (a pooler in transaction mode): not retried. */
export class SessionNotKeptError extends StoreError {}

/** The refusal of a store whose connections do not each keep one PostgreSQL session; `how` says what is in between. */
export function sessionNotKept(location: string, how: string, cause?: unknown): SessionNotKeptError {
  return new SessionNotKeptError(location, `its connections do not each keep one PostgreSQL session (${how})`, {
    hint: 'connect to PostgreSQL directly, or through a PgBouncer database with pool_mode = session',
    ...(cause === undefined ? {} : { cause }),
  });
}
