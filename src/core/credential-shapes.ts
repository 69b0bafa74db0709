/**
 * What a credential looks like: by its name (a header, a field, a query parameter) or by its value. Used to
 * refuse credentials written in a config and to redact them from anything stored or printed.
 */

/** Shapes of well-known provider and platform keys. */
export const KEY_SHAPE =
  /\b(?:sk-ant-[A-Za-z0-9_-]{20,}|sk-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{30,}|xai-[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{20,}|gh[opsu]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|r8_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b/;

/** Words that make a name (a header, a field, a query parameter) one that carries a credential. */
const CREDENTIAL_WORDS = new Set([
  'key', 'apikey', 'token', 'accesstoken', 'secret', 'password', 'passwd', 'pwd', 'auth', 'authorization',
  'cookie', 'session', 'sessionid', 'signature', 'sig', 'credential', 'credentials', 'bearer', 'jwt',
]);

/** In a URL's query string, a few more names carry secrets (an OAuth code, a pass). */
const QUERY_WORDS = new Set([...CREDENTIAL_WORDS, 'code', 'pass']);

/** `X-Portkey-Api-Key` -> `x portkey api key`; `accessToken` -> `access token`. */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== '')
    .map((word) => word.toLowerCase());
}

/** Whether a header or field name is one a credential is sent in (`Authorization`, `X-Api-Key`, `Cookie`...). */
export function isCredentialName(name: string): boolean {
  const words = wordsOf(name);
  // `apiKeyEnv` names a variable; it does not hold the key.
  if (words.at(-1) === 'env') return false;
  return words.some((word) => CREDENTIAL_WORDS.has(word));
}

/** Whether a URL query parameter carries a credential (`api-key`, `token`, `sig`, `code`...). */
export function isCredentialQueryName(name: string): boolean {
  return wordsOf(name).some((word) => QUERY_WORDS.has(word));
}

/** An HTTP authorization scheme followed by its token: `Bearer abc...`, `Basic dXNlcjpwYXNz`. */
export const AUTH_SCHEME = /^(?:Bearer|Basic|Token|Digest|ApiKey)\s+\S+/i;

function entropyBitsPerChar(text: string): number {
  const counts = new Map<string, number>();
  for (const character of text) counts.set(character, (counts.get(character) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const share = count / text.length;
    bits -= share * Math.log2(share);
  }
  return bits;
}

/**
 * A long random-looking token: no spaces, and a run of 16 or more characters mixing letters and digits
 * with high entropy. Slugs (`my-eval-project-2024`) and UUIDs, whose parts are short, are not.
 */
export function isHighEntropyToken(value: string): boolean {
  if (value.length < 20 || /\s/.test(value)) return false;
  return value.split(/[-_.:/]/).some((part) => part.length >= 16 && /[A-Za-z]/.test(part) && /\d/.test(part) && entropyBitsPerChar(part) >= 3.5);
}

/** Whether a literal value looks like a credential: an authorization scheme, a known key shape, a long random token. */
export function looksLikeCredentialValue(value: string): boolean {
  const trimmed = value.trim();
  return AUTH_SCHEME.test(trimmed) || KEY_SHAPE.test(trimmed) || isHighEntropyToken(trimmed);
}

/**
 * What in a URL carries a credential: its user name or password, or a query parameter named like a key.
 * Returns a description for an error message (never the value), or undefined.
 */
export function credentialInUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.username !== '' || url.password !== '') return 'a user name or password (user:pass@host)';
  for (const name of url.searchParams.keys()) {
    if (isCredentialQueryName(name)) return `the query parameter '${name}'`;
  }
  return undefined;
}
