import type { Random } from './random.js';

/** A mutation that knows nothing of the file's format: it works on its bytes. */
export type ByteMutation = (bytes: Buffer, random: Random) => { bytes: Buffer; note: string };

const SPECIAL = Buffer.from('"\'{}[]:,#-&*!%|>@`\\\n\r\t\0 ');
const INVALID_UTF8 = [
  [0xff],
  [0xfe],
  [0x80],
  [0xc3, 0x28],
  [0xc0, 0xaf],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf0, 0x9f, 0x98],
];

function lines(bytes: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let newline = bytes.indexOf(10); newline !== -1; newline = bytes.indexOf(10, start)) {
    parts.push(bytes.subarray(start, newline + 1));
    start = newline + 1;
  }
  if (start < bytes.length) parts.push(bytes.subarray(start));
  return parts;
}

function position(bytes: Buffer, random: Random): number {
  return random.int(0, Math.max(0, bytes.length));
}

function insertAt(bytes: Buffer, at: number, inserted: Buffer): Buffer {
  return Buffer.concat([bytes.subarray(0, at), inserted, bytes.subarray(at)]);
}

export const BYTE_MUTATIONS: Record<string, ByteMutation> = {
  'flip-bits': (bytes, random) => {
    const copy = Buffer.from(bytes);
    const flips = random.int(1, 4);
    const at: number[] = [];
    for (let index = 0; index < flips && copy.length > 0; index++) {
      const offset = random.int(0, copy.length - 1);
      copy[offset] = copy[offset]! ^ (1 << random.int(0, 7));
      at.push(offset);
    }
    return { bytes: copy, note: `bits flipped at ${at.join(', ')}` };
  },
  'replace-byte': (bytes, random) => {
    const copy = Buffer.from(bytes);
    if (copy.length === 0) return { bytes: copy, note: 'empty file left empty' };
    const offset = random.int(0, copy.length - 1);
    const value = random.chance(0.6) ? random.pick([...SPECIAL]) : random.int(0, 255);
    copy[offset] = value;
    return { bytes: copy, note: `byte ${offset} set to 0x${value.toString(16)}` };
  },
  truncate: (bytes, random) => {
    const at = random.int(0, Math.max(0, bytes.length - 1));
    return { bytes: bytes.subarray(0, at), note: `truncated to ${at} of ${bytes.length} bytes` };
  },
  'insert-bytes': (bytes, random) => {
    const at = position(bytes, random);
    const count = random.int(1, 16);
    return { bytes: insertAt(bytes, at, random.bytes(count)), note: `${count} random bytes inserted at ${at}` };
  },
  'invalid-utf8': (bytes, random) => {
    const at = position(bytes, random);
    const sequence = Buffer.from(random.pick(INVALID_UTF8));
    return { bytes: insertAt(bytes, at, sequence), note: `invalid UTF-8 ${sequence.toString('hex')} inserted at ${at}` };
  },
  'utf8-bom': (bytes) => ({ bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]), note: 'UTF-8 byte order mark prepended' }),
  utf16: (bytes, random) => {
    const bigEndian = random.chance(0.5);
    const text = Buffer.from(bytes.toString('utf8'), 'utf16le');
    if (bigEndian) text.swap16();
    return { bytes: Buffer.concat([Buffer.from(bigEndian ? [0xfe, 0xff] : [0xff, 0xfe]), text]), note: `re-encoded as UTF-16${bigEndian ? 'BE' : 'LE'} with a BOM` };
  },
  crlf: (bytes) => ({ bytes: Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'), note: 'line ends turned into CRLF' }),
  'cr-only': (bytes) => ({ bytes: Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, '\r'), 'latin1'), note: 'line ends turned into a bare CR' }),
  'duplicate-line': (bytes, random) => {
    const parts = lines(bytes);
    if (parts.length === 0) return { bytes, note: 'no line to duplicate' };
    const index = random.int(0, parts.length - 1);
    parts.splice(random.int(0, parts.length), 0, parts[index]!);
    return { bytes: Buffer.concat(parts), note: `line ${index + 1} duplicated` };
  },
  'remove-line': (bytes, random) => {
    const parts = lines(bytes);
    if (parts.length === 0) return { bytes, note: 'no line to remove' };
    const index = random.int(0, parts.length - 1);
    parts.splice(index, 1);
    return { bytes: Buffer.concat(parts), note: `line ${index + 1} removed` };
  },
  'swap-lines': (bytes, random) => {
    const parts = lines(bytes);
    if (parts.length < 2) return { bytes, note: 'fewer than two lines' };
    const left = random.int(0, parts.length - 1);
    const right = random.int(0, parts.length - 1);
    [parts[left], parts[right]] = [parts[right]!, parts[left]!];
    return { bytes: Buffer.concat(parts), note: `lines ${left + 1} and ${right + 1} swapped` };
  },
  'empty-file': () => ({ bytes: Buffer.alloc(0), note: 'emptied' }),
  'whitespace-only': (bytes, random) => ({ bytes: Buffer.from(random.pick(['\n', '   \n\n', '\t\r\n', ' '])), note: 'only whitespace left' }),
  'nul-bytes': (bytes, random) => {
    const at = position(bytes, random);
    return { bytes: insertAt(bytes, at, Buffer.alloc(random.int(1, 8))), note: `NUL bytes inserted at ${at}` };
  },
  'append-garbage': (bytes, random) => ({ bytes: Buffer.concat([bytes, random.bytes(random.int(1, 64))]), note: 'random bytes appended' }),
  'repeat-content': (bytes) => ({ bytes: Buffer.concat([bytes, bytes]), note: 'whole content written twice' }),
};
