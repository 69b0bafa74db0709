import { execFileSync } from 'node:child_process';
import { arch, hostname, platform } from 'node:os';
import { redactDeep } from '../core/redact.js';
import { findProvider } from '../registry.js';
import type { Provenance } from '../spec/snapshot.js';
import type { Experiment } from './experiment.js';
import { toolVersion } from './tool-version.js';

function gitCommit(directory: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: directory, stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).toString().trim() || null;
  } catch {
    return null;
  }
}

/**
 * Where, when and how a run was created. Recorded beside the snapshot, never hashed; never holds a secret:
 * transport settings name env vars only, and every string is redacted on top (a store URL's password, say).
 */
export function provenanceFor(experiment: Experiment, runtime: Readonly<Record<string, unknown>>): Provenance {
  return redactDeep({
    toolVersion: toolVersion(),
    nodeVersion: process.version,
    platform: platform(),
    arch: arch(),
    hostname: hostname(),
    gitCommit: gitCommit(experiment.source.directory),
    configPath: experiment.source.path,
    experimentName: experiment.config.name,
    createdAt: new Date().toISOString(),
    runtime,
    transport: Object.fromEntries(
      [...experiment.config.models, ...experiment.config.evaluators].map((model) => [
        model.id,
        findProvider(model.provider).transport(model, { env: {}, directory: experiment.source.directory }),
      ]),
    ),
  });
}
