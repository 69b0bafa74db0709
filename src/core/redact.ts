import { isCredentialName, isCredentialQueryName, KEY_SHAPE, looksLikeCredentialValue } from './credential-shapes.js';

/**
 * The one place text is scrubbed of credentials before it is stored or printed: the exact values of the
 * secrets this process read from the environment for its models, and anything shaped like a credential
 * (an authorization header, a provider key, a URL's password and a user name that looks like a token, a key-like
 * query parameter or field).
 */

export const REDACTED = '[redacted]';

/** Values shorter than this are not remembered: replacing them everywhere would mangle ordinary text. */
const MIN_SECRET_LENGTH = 8;

const remembered = new Set<string>();
/** Longest first, so a secret that contains another is replaced whole. */
let secretsByLength: string[] = [];

/** Remembers a secret this process read (an API key, a header value from the environment) so it is redacted. */
export function rememberSecret(value: string | undefined): void {
  if (value === undefined || value.length < MIN_SECRET_LENGTH || remembered.has(value)) return;
  remembered.add(value);
  secretsByLength = [...remembered].sort((left, right) => right.length - left.length);
}

/** Replaces the exact values of remembered secrets only: for model answers, which shapes must not touch. */
export function redactKnownSecrets(text: string): string {
  let result = text;
  for (const secret of secretsByLength) if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  return result;
}

const AUTH_TOKEN = /\b(Bearer|Basic|Token|Digest|ApiKey)(\s+)([A-Za-z0-9._~+/=-]{8,})/gi;
const KEY_SHAPES = new RegExp(KEY_SHAPE.source, 'g');
// Every repetition that can start at any position is bounded, so scrubbing stays linear in the text's length
// (an unbounded one made a 100 kB message take 45 s).
const USERINFO = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)([^\s/?#@:]{0,256})(:[^\s/?#@]{0,512})?@/gi;
const QUERY_PARAMETER = /([?&;])([^=&#\s?]{1,128})=([^&#\s"'<>]*)/g;
/** `"x-api-key": "value"`, `token=value`, `Cookie: value` in echoed headers, bodies and messages. */
const NAMED_VALUE = /(["']?)\b([A-Za-z][\w.-]{0,63})\1(\s{0,8}[:=]\s{0,8})(["']?)([^\s"',;&}<>[\]]{8,})/g;

/** `PORTKEY_API_KEY`: the name of a variable (as in `headersFromEnv: { X-Api-Key: PORTKEY_API_KEY }`), not a secret. */
const ENV_VARIABLE_NAME = /^[A-Z][A-Z_]*$/;

/** A token after an auth scheme is redacted when it looks random (a digit or a symbol) or is long. */
function looksLikeToken(token: string): boolean {
  return token.length >= 20 || /[\d+/=_~-]/.test(token);
}

/**
 * A URL's user name as shown once its password is dropped (`postgres://admin:pw@db` -> `postgres://admin@db`,
 * the form `redactStoreUrl` gives and a reader can paste), unless the name itself looks like a credential (a
 * token sent as the user, `https://ghp_...@github.com`), which goes too.
 */
function userShown(user: string): string {
  return user === '' || user === REDACTED || looksLikeCredentialValue(decodeName(user)) ? REDACTED : user;
}

/** Scrubs credentials out of a message, a URL or a log line. */
export function redactText(text: string): string {
  let result = redactKnownSecrets(text);
  result = result.replace(USERINFO, (_match, scheme: string, user: string) => `${scheme}${userShown(user)}@`);
  result = result.replace(QUERY_PARAMETER, (match, separator: string, name: string, value: string) =>
    value !== '' && value !== REDACTED && isCredentialQueryName(decodeName(name)) ? `${separator}${name}=${REDACTED}` : match,
  );
  result = result.replace(AUTH_TOKEN, (match, scheme: string, space: string, token: string) => (looksLikeToken(token) ? `${scheme}${space}${REDACTED}` : match));
  result = result.replace(KEY_SHAPES, REDACTED);
  result = result.replace(NAMED_VALUE, (match, quote: string, name: string, separator: string, valueQuote: string, value: string) =>
    isCredentialName(name) && !ENV_VARIABLE_NAME.test(value) ? `${quote}${name}${quote}${separator}${valueQuote}${REDACTED}` : match,
  );
  return result;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** Redacts every string inside a JSON-like value (keys are kept); returns the same value when nothing changed. */
export function redactDeep<Value>(value: Value, redact: (text: string) => string = redactText): Value {
  if (typeof value === 'string') return redact(value) as Value;
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item: unknown) => {
      const redacted = redactDeep(item, redact);
      changed ||= redacted !== item;
      return redacted;
    });
    return (changed ? items : value) as Value;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    let changed = false;
    const entries = Object.entries(value).map(([key, member]) => {
      const redacted = redactDeep(member, redact);
      changed ||= redacted !== member;
      return [key, redacted] as const;
    });
    return (changed ? Object.fromEntries(entries) : value) as Value;
  }
  return value;
}

/** Whether any secret has been remembered (so answers need scrubbing at all). */
export function hasRememberedSecrets(): boolean {
  return secretsByLength.length > 0;
}
