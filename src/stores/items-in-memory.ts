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
