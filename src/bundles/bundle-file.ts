import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { canonicalJson } from '../core/canonical-json.js';
import type { ArtifactKind } from '../core/records.js';
import type { Provenance, RunSnapshot } from '../spec/snapshot.js';

export const BUNDLE_FORMAT = 'assay.bundle';
/** Version 2: the checksum covers the header as well as the body. Version 1 bundles (body only) are still read. */
export const BUNDLE_VERSION = 2;
export const READABLE_BUNDLE_VERSIONS: readonly number[] = [1, 2];

/** The first line of a bundle: what it is, which run it belongs to, and how to check the rest. */
export interface BundleHeader {
  readonly format: typeof BUNDLE_FORMAT;
  readonly version: number;
  readonly kind: ArtifactKind;
  readonly runId: string;
  readonly name: string;
  /** The full snapshot: it must hash to `runId`. */
  readonly snapshot: RunSnapshot;
  readonly provenance: Provenance;
  /** Item lines follow the header, then record lines. */
  readonly items: number;
  readonly records: number;
  /**
   * SHA-256 (hex) over the header's canonical JSON without this field, a newline, and the SHA-256 of every
   * byte after the header line (`bundleChecksum`). It catches damage; it is no signature.
   */
  readonly sha256: string;
  readonly createdAt: string;
  readonly tool: string;
}

const isGzipPath = (path: string) => path.toLowerCase().endsWith('.gz');

/** The checksum of a bundle: its header (all but `sha256`) and the digest of its body, together. */
export function bundleChecksum(header: Readonly<Record<string, unknown>>, bodySha256: string): string {
  const { sha256: _sha256, ...rest } = header;
  return createHash('sha256').update(canonicalJson(rest)).update('\n').update(bodySha256).digest('hex');
}

/** A header sealed for `body` (every line after the header, newlines included), as the writer seals it. */
export function sealBundleHeader<Header extends Record<string, unknown>>(header: Header, body: string): Header & { sha256: string } {
  return { ...header, sha256: bundleChecksum(header, createHash('sha256').update(body).digest('hex')) };
}

/**
 * Writes a bundle: the body lines go to a scratch file while being counted and hashed, then the header and
 * the body are written (gzipped for a `.gz` path) to a partial file that is renamed into place.
 */
export async function writeBundle(path: string, header: Omit<BundleHeader, 'sha256' | 'items' | 'records'>, body: AsyncIterable<{ line: string; item: boolean }>): Promise<BundleHeader> {
  const scratch = `${path}.${process.pid}.body`;
  const hash = createHash('sha256');
  let items = 0;
  let records = 0;
  const scratchFile = await open(scratch, 'w');
  try {
    let buffered: string[] = [];
    for await (const { line, item } of body) {
      const text = `${line}\n`;
      hash.update(text);
      buffered.push(text);
      if (item) items++;
      else records++;
      if (buffered.length >= 1000) {
        await scratchFile.write(buffered.join(''));
        buffered = [];
      }
    }
    if (buffered.length > 0) await scratchFile.write(buffered.join(''));
  } finally {
    await scratchFile.close();
  }
  const unsealed = { ...header, items, records };
  const complete: BundleHeader = { ...unsealed, sha256: bundleChecksum(unsealed, hash.digest('hex')) };
  const partial = `${path}.${process.pid}.partial`;
  try {
    const source = Readable.from(
      (async function* () {
        yield `${JSON.stringify(complete)}\n`;
        yield* createReadStream(scratch);
      })(),
    );
    if (isGzipPath(path)) await pipeline(source, createGzip(), createWriteStream(partial));
    else await pipeline(source, createWriteStream(partial));
    renameSync(partial, path);
  } finally {
    rmSync(scratch, { force: true });
    rmSync(partial, { force: true });
  }
  return complete;
}

/** Lines of a bundle file, gunzipped when the file starts with the gzip magic bytes. */
export async function* bundleLines(path: string): AsyncGenerator<string> {
  const probe = await open(path, 'r');
  const magic = Buffer.alloc(2);
  try {
    await probe.read(magic, 0, 2, 0);
  } finally {
    await probe.close();
  }
  const raw = createReadStream(path);
  const stream = magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of lines) yield line;
}
