/**
 * Finds a JSON value in free text the way models write it: the whole text, a ```json fenced block, or the
 * first balanced {...} (or [...]) that parses. Returns undefined when there is none.
 */
export function findJson(text: string): unknown {
  const trimmed = text.trim();
  const whole = tryParse(trimmed);
  if (whole !== undefined) return whole;
  for (const match of trimmed.matchAll(/```(?:json)?\s*\n?([\s\S]*?)```/gi)) {
    const fenced = tryParse(match[1]!.trim());
    if (fenced !== undefined) return fenced;
  }
  for (let start = 0; start < trimmed.length; start++) {
    const opener = trimmed[start];
    if (opener !== '{' && opener !== '[') continue;
    const end = balancedEnd(trimmed, start);
    if (end < 0) continue;
    const candidate = tryParse(trimmed.slice(start, end + 1));
    if (candidate !== undefined) return candidate;
  }
  return undefined;
}

function tryParse(text: string): unknown {
  if (text === '' || (text[0] !== '{' && text[0] !== '[')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Index of the bracket closing the one at `start`, skipping strings; -1 when unbalanced. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let index = start; index < text.length; index++) {
    const character = text[index];
    if (inString) {
      if (character === '\\') index++;
      else if (character === '"') inString = false;
    } else if (character === '"') inString = true;
    else if (character === '{' || character === '[') depth++;
    else if (character === '}' || character === ']') {
      if (--depth === 0) return index;
    }
  }
  return -1;
}
