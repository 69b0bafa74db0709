import type { StoredEvent } from '../spec/event.js';
import type { ItemFieldsRow, StoredItem } from '../spec/store.js';

/** The items at these positions, for a store that holds its items in an array (files, results file). */
export function itemsAt(items: readonly (StoredItem | undefined)[], itemOrds: readonly number[]): Map<number, StoredItem> {
  const found = new Map<number, StoredItem>();
  for (const ord of itemOrds) {
    const item = items[ord];
    if (item) found.set(ord, item);
  }
  return found;
}

/** A page of items after `afterOrd` with only the given top-level fields (see `Store.readItemFields`). */
export function itemFieldsPage(items: readonly (StoredItem | undefined)[], fields: readonly string[], afterOrd: number, limit: number): ItemFieldsRow[] {
  const rows: ItemFieldsRow[] = [];
  for (let ord = Math.max(0, afterOrd + 1); ord < items.length && rows.length < limit; ord++) {
    const item = items[ord];
    if (item) rows.push({ ord, datasetId: item.datasetId, itemId: item.itemId, values: fields.map((field) => item.fields[field]) });
  }
  return rows;
}

/** `Store.readTaskEventsAt` for a store that holds its run in memory (files, results file): a lookup per task. */
export async function taskEventsAt(ords: readonly number[], read: (ord: number) => Promise<StoredEvent[]>): Promise<Map<number, StoredEvent[]>> {
  const found = new Map<number, StoredEvent[]>();
  for (const ord of ords) found.set(ord, await read(ord));
  return found;
}
