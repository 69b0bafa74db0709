import { credentialInUrl, isCredentialName, KEY_SHAPE, looksLikeCredentialValue } from '../core/credential-shapes.js';

/** Field names that would hold a credential; a config may only *name* an env var (apiKeyEnv). */
const SECRET_FIELD = /^(api[-_]?key|apikey|secret|secret[-_]?key|password|token|access[-_]?token|bearer)$/i;

/** Fields holding a URL, whose user name, password and query are checked for credentials. */
const URL_FIELD = /url$/i;

const USE_API_KEY_ENV = 'put the key in an environment variable and set apiKeyEnv to its name';

export interface SecretFinding {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  /** What to do instead. */
  readonly hint: string;
}

function headerFinding(headers: Readonly<Record<string, unknown>>, path: readonly PropertyKey[]): SecretFinding | undefined {
  for (const [name, value] of Object.entries(headers)) {
    if (value === null || value === undefined || value === '') continue;
    const hint = `read it from the environment instead: headersFromEnv: { ${name}: VARIABLE_NAME }`;
    if (isCredentialName(name)) return { path: [...path, name], message: 'a header named like a credential may not have its value written in a config file', hint };
    if (typeof value === 'string' && looksLikeCredentialValue(value)) {
      return { path: [...path, name], message: 'this header value looks like a credential (a token, a key, a long random string)', hint };
    }
  }
  return undefined;
}

/**
 * Finds a literal credential in a config document: a field named like a key, a string shaped like a provider
 * key, a header whose name or value says it carries a credential, or a URL with a user name, a password or a
 * key-like query parameter. The message never repeats the value.
 */
export function findLiteralSecret(value: unknown, path: readonly PropertyKey[] = []): SecretFinding | undefined {
  if (typeof value === 'string') {
    return KEY_SHAPE.test(value) ? { path, message: 'this value looks like a literal API key; keys may not be written in a config file', hint: USE_API_KEY_ENV } : undefined;
  }
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const found = findLiteralSecret(value[index], [...path, index]);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, member] of Object.entries(value)) {
      const memberPath = [...path, key];
      // Names of environment variables, keyed by header names that may well say "key" or "token".
      if (key === 'headersFromEnv' && member !== null && typeof member === 'object') {
        const found = Object.entries(member).map(([name, variable]) => findLiteralSecret(variable, [...memberPath, name])).find(Boolean);
        if (found) return found;
        continue;
      }
      if (key === 'headers' && member !== null && typeof member === 'object' && !Array.isArray(member)) {
        const found = headerFinding(member as Record<string, unknown>, memberPath);
        if (found) return found;
      }
      if (URL_FIELD.test(key) && typeof member === 'string') {
        const carried = credentialInUrl(member);
        if (carried) {
          return {
            path: memberPath,
            message: `this URL carries ${carried}, and URLs are recorded with the run`,
            hint: 'remove it from the URL; name the key\'s environment variable with apiKeyEnv, or send it as a header with headersFromEnv',
          };
        }
      }
      if (SECRET_FIELD.test(key) && member !== null && member !== undefined && member !== '') {
        return { path: memberPath, message: 'a literal API key may not be written in a config file', hint: USE_API_KEY_ENV };
      }
      const found = findLiteralSecret(member, memberPath);
      if (found) return found;
    }
  }
  return undefined;
}
