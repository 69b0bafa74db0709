/** Field names that would hold a credential; a config may only *name* an env var (apiKeyEnv). */
const SECRET_FIELD = /^(api[-_]?key|apikey|secret|secret[-_]?key|password|token|access[-_]?token|bearer)$/i;

/** Shapes of well-known provider keys. */
const KEY_SHAPE = /\b(sk-[A-Za-z0-9_-]{20,}|sk-ant-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{30,}|xai-[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{20,}|ghp_[A-Za-z0-9]{20,}|r8_[A-Za-z0-9]{20,})\b/;

export interface SecretFinding {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * Finds a literal credential in a config document: a field named like a key, or a string shaped like a
 * provider key anywhere. The message never repeats the value.
 */
export function findLiteralSecret(value: unknown, path: readonly PropertyKey[] = []): SecretFinding | undefined {
  if (typeof value === 'string') {
    return KEY_SHAPE.test(value) ? { path, message: 'this value looks like a literal API key; keys may not be written in a config file' } : undefined;
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
      if (SECRET_FIELD.test(key) && member !== null && member !== undefined && member !== '') {
        return { path: [...path, key], message: 'a literal API key may not be written in a config file' };
      }
      const found = findLiteralSecret(member, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}
