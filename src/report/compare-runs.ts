import { UserError } from '../core/errors.js';
import { comparePaired } from '../core/statistics/index.js';
import type { Store } from '../spec/store.js';
import { adjustFamilies, checkLevel, comparisonOf, nothingScored } from './build-report.js';
import type { CompareDocument, Comparison, FlippedItem, FlippedItems } from './report-document.js';
import { scanRun, type RunScan, type ScoreCells } from './scan-run.js';

export interface CompareOptions {
  readonly level?: number;
  /** Compare only these scores; default every score both runs have. */
  readonly metrics?: readonly string[];
  /** Flipped items listed per direction and comparison (the counts are always complete). Default 1000. */
  readonly flippedLimit?: number;
}

/** A run on either side of the comparison, in its store. */
export interface ComparedRun {
  readonly store: Store;
  readonly runId: string;
}

interface Cell {
  readonly index: number;
  readonly model: string;
  readonly prompt: string;
}

function cellsOf(scan: RunScan): Cell[] {
  return scan.shape.modelIds.flatMap((model, modelIndex) =>
    scan.shape.promptIds.map((prompt, promptIndex) => ({ index: modelIndex * scan.shape.promptIds.length + promptIndex, model, prompt })),
  );
}

/**
 * The cells to compare: those with the same model and prompt in both runs, else every cell of A with every
 * cell of B; and the cells left out (in a run where some match, those without a counterpart).
 */
function cellPairs(left: RunScan, right: RunScan): { pairs: [Cell, Cell][]; unmatched: CompareDocument['unmatched'] } {
  const a = cellsOf(left);
  const b = cellsOf(right);
  const matches = (cell: Cell, other: Cell) => other.model === cell.model && other.prompt === cell.prompt;
  const same = a.flatMap((cell) => {
    const match = b.find((other) => matches(cell, other));
    return match ? [[cell, match] as [Cell, Cell]] : [];
  });
  if (same.length === 0) return { pairs: a.flatMap((cell) => b.map((other) => [cell, other] as [Cell, Cell])), unmatched: [] };
  const unmatched = [
    ...a.filter((cell) => !b.some((other) => matches(cell, other))).map((cell) => ({ run: 'a' as const, model: cell.model, prompt: cell.prompt })),
    ...b.filter((cell) => !a.some((other) => matches(cell, other))).map((cell) => ({ run: 'b' as const, model: cell.model, prompt: cell.prompt })),
  ];
  return { pairs: same, unmatched };
}

/**
 * Compares two stored runs item by item: items are paired by dataset and item id where the runs overlap, and
 * each pair of cells (same model and prompt, or every pair when none match) gets the paired statistics of
 * the report and the list of items that flipped each way.
 */
export async function compareRuns(left: ComparedRun, right: ComparedRun, options: CompareOptions = {}): Promise<CompareDocument> {
  const level = checkLevel(options.level ?? 0.95);
  const limit = options.flippedLimit ?? 1000;
  const a = await scanRun(left.store, left.runId, { itemIds: true });
  const b = await scanRun(right.store, right.runId, { itemIds: true });
  const short = (scan: RunScan) => scan.run.runId.slice(0, 12);
  for (const scan of [a, b]) {
    if (scan.scores.size === 0) throw nothingScored(scan);
  }
  // Pair items by dataset and id: B's ord for each of A's items.
  const positionInA = new Map<string, number>();
  a.items.itemIds!.forEach((id, ord) => positionInA.set(id, ord));
  const pairsA: number[] = [];
  const pairsB: number[] = [];
  b.items.itemIds!.forEach((id, ord) => {
    const match = positionInA.get(id);
    if (match === undefined) return;
    pairsA.push(match);
    pairsB.push(ord);
  });
  if (pairsA.length === 0) {
    throw new UserError('no_shared_items', `runs ${short(a)} and ${short(b)} have no items in common (datasets ${a.items.datasetIds.join(', ')} and ${b.items.datasetIds.join(', ')})`, {
      hint: 'compare runs over the same dataset (items are paired by dataset id and item id)',
    });
  }
  const shared = [...a.scores.keys()].filter((name) => b.scores.has(name));
  const metrics = options.metrics && options.metrics.length > 0 ? [...options.metrics] : shared;
  for (const metric of metrics) {
    for (const scan of [a, b]) {
      if (!scan.scores.has(metric)) {
        throw new UserError('unknown_metric', `run ${short(scan)} has no scores named '${metric}'`, { hint: `its scores are: ${[...scan.scores.keys()].join(', ')}` });
      }
    }
  }
  if (metrics.length === 0) {
    throw new UserError('no_shared_metric', `runs ${short(a)} and ${short(b)} share no score name`, {
      hint: `A has ${[...a.scores.keys()].join(', ')}; B has ${[...b.scores.keys()].join(', ')}`,
    });
  }

  const comparisons: Omit<Comparison, 'pAdjusted'>[] = [];
  const flippedItems: FlippedItems[] = [];
  const itemName = (ord: number) => {
    const id = a.items.itemIds![ord]!;
    const cut = id.indexOf('\u0000');
    return { dataset: id.slice(0, cut), item: id.slice(cut + 1) };
  };
  const { pairs, unmatched } = cellPairs(a, b);
  for (const metric of metrics) {
    for (const [cellA, cellB] of pairs) {
      const sideA = a.cells.get(metric)![cellA.index];
      const sideB = b.cells.get(metric)![cellB.index];
      if (!sideA || !sideB) continue;
      const { valuesA, valuesB, ords } = pairAcross(sideA, sideB, pairsA, pairsB);
      if (ords.length === 0) continue;
      const estimate = comparePaired(valuesA, valuesB, level);
      const datasets = new Set(ords.map((ord) => itemName(ord).dataset));
      const dataset = [...datasets].join(', ');
      comparisons.push(
        comparisonOf(
          metric,
          dataset,
          { model: cellA.model, prompt: cellA.prompt, runId: a.run.runId, mean: estimate.meanA },
          { model: cellB.model, prompt: cellB.prompt, runId: b.run.runId, mean: estimate.meanB },
          estimate,
          valuesA,
          valuesB,
        ),
      );
      const aOnly: FlippedItem[] = [];
      const bOnly: FlippedItem[] = [];
      ords.forEach((ord, index) => {
        const difference = valuesA[index]! - valuesB[index]!;
        if (difference === 0) return;
        const list = difference > 0 ? aOnly : bOnly;
        if (list.length < limit) list.push({ ...itemName(ord), a: valuesA[index]!, b: valuesB[index]! });
      });
      flippedItems.push({
        metric,
        dataset,
        a: { model: cellA.model, prompt: cellA.prompt },
        b: { model: cellB.model, prompt: cellB.prompt },
        aOnly,
        bOnly,
        truncated: estimate.flipped[0] > aOnly.length || estimate.flipped[1] > bOnly.length,
      });
    }
  }
  if (comparisons.length === 0) {
    throw new UserError('nothing_to_compare', `runs ${short(a)} and ${short(b)} share ${pairsA.length} items, but no item is scored on ${metrics.join(', ')} by both`, {
      hint: 'run both through the score stage, or pick a score both have with --metric',
    });
  }
  return {
    schema: 'assay.compare.v1',
    runA: { runId: a.run.runId, name: a.run.name },
    runB: { runId: b.run.runId, name: b.run.name },
    generatedAt: new Date().toISOString(),
    level,
    sharedItems: pairsA.length,
    onlyInA: a.items.count - pairsA.length,
    onlyInB: b.items.count - pairsB.length,
    unmatched,
    comparisons: adjustFamilies(comparisons),
    flippedItems,
  };
}

/** Item values of two cells from two runs over the paired items both scored; `ords` are A's item ords. */
function pairAcross(left: ScoreCells, right: ScoreCells, pairsA: readonly number[], pairsB: readonly number[]): { valuesA: Float64Array; valuesB: Float64Array; ords: number[] } {
  const ords: number[] = [];
  const a: number[] = [];
  const b: number[] = [];
  for (let index = 0; index < pairsA.length; index++) {
    const ordA = pairsA[index]!;
    const ordB = pairsB[index]!;
    if (left.count[ordA]! === 0 || right.count[ordB]! === 0) continue;
    ords.push(ordA);
    a.push(left.sum[ordA]! / left.count[ordA]!);
    b.push(right.sum[ordB]! / right.count[ordB]!);
  }
  return { valuesA: Float64Array.from(a), valuesB: Float64Array.from(b), ords };
}
