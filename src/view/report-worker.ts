import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../stores/open-store.js';
import { buildReport } from '../report/build-report.js';
import { renderReportHtml } from '../report/format-html.js';

/**
 * Builds one run's HTML report in a worker thread (seconds on a million tasks), over its own read-only
 * connection to the store, so the viewer's server keeps answering meanwhile. Posts the HTML, or the error.
 */
const { location, runId } = workerData as { location: string; runId: string };
const store = await openStore(location, { create: false, readonly: true });
try {
  parentPort!.postMessage({ html: await renderReportHtml(await buildReport(store, runId)) });
} catch (error) {
  const user = error as { line?: () => string; code?: string };
  parentPort!.postMessage({ error: { message: error instanceof Error ? error.message : String(error), line: typeof user.line === 'function' ? user.line() : null, user: typeof user.line === 'function' } });
} finally {
  await store.close();
}
