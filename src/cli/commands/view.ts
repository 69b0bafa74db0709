import { spawn } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { defaultStorePath } from '../../stores/open-store.js';
import { STORE_HELP } from '../arguments.js';
import { printErrorLine, printJson, printLine } from '../output.js';

function port(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return number;
}

/** Opens the URL in the desktop's browser; failing to is only worth a line (the URL is printed anyway). */
function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => printErrorLine(`could not start ${command}: open the URL yourself`));
    child.unref();
  } catch {
    printErrorLine(`could not start ${command}: open the URL yourself`);
  }
}

export function viewCommand(): Command {
  return new Command('view')
    .description('a local web viewer of the runs in a store: runs, reports, task tables, transcripts, side by side (read-only)')
    .option('--store <path>', STORE_HELP.here)
    .option('--port <port>', 'port to listen on (0: any free one)', port, 7420)
    .option('--host <address>', 'address to listen on; beyond loopback a random access token is required', '127.0.0.1')
    .option('--no-token', 'do not require the access token (refused beyond loopback)')
    .option('--open', 'open the URL in the browser')
    .option('--json', 'print {url, host, port, store} as JSON once listening')
    .action(async (options: { store?: string; port: number; host: string; token: boolean; open?: boolean; json?: boolean }) => {
      // The server and its framework load only for this command.
      const { startView } = await import('../../view/start-view.js');
      const view = await startView({ store: options.store ?? defaultStorePath(), host: options.host, port: options.port, token: options.token });
      if (options.json) printJson({ url: view.url, host: view.host, port: view.port, store: view.store.location, token: view.token !== null });
      else {
        printLine(`assay view: ${view.url}`);
        printLine(`store ${view.store.location} (${view.store.kind === 'files' ? 'a progressive save: its job is locked while it is viewed' : 'read-only'})${view.token ? '; the URL carries the access token: share it only with whom may see these runs' : ''}; Ctrl+C to stop`);
      }
      if (options.open) openBrowser(view.url);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void view.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
