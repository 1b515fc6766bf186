#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, isHoldfastError } from '../protocol/index.js';
import { parseCommand, USAGE, UsageError, type Command, type ServeCommand } from './args.js';
import { standaloneOptions } from './serve-options.js';
import { ConfigError } from './usage-error.js';
import { hasBuiltClient, PACKAGE_ROOT, RedisUnavailableError, SqliteUnavailableError, startStandalone, type StorageInfo } from './standalone.js';

/** Exit status for a command-line mistake, as most Unix tools use it. */
const EXIT_USAGE = 2;
/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;
/** Why the store cannot start: the operator can act on the message, a stack trace adds nothing. */
const START_ERRORS: ReadonlySet<string> = new Set([ErrorCode.DataFolderUnusable, ErrorCode.DatabaseLocked, ErrorCode.DatabaseTooNew]);

function version(): string {
  const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
}

async function serve(command: ServeCommand): Promise<void> {
  const standalone = await startStandalone(standaloneOptions(command));
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`holdfast: ${signal} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`holdfast: ${signal} received, closing (clients get 1001 and reconnect elsewhere)`);
    setTimeout(() => {
      console.error('holdfast: shutdown took too long, exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    standalone.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('holdfast: error while closing:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  // After the handlers: a supervisor may signal as soon as it reads the start-up line.
  // The real port (not the requested one): with --port 0 this line is how callers learn it.
  console.log(`Holdfast listening on ${standalone.url} (WebSocket ${standalone.wsUrl})`);
  console.log(`store: ${describeStore(standalone.storage)}`);
  // Anyone who can reach the port is such a client: the operator should see what that allows.
  console.log(`anonymous clients: ${standalone.anonymousAccess}`);
  if (!hasBuiltClient()) {
    console.warn('holdfast: dist/client is missing, so the demo page cannot load the client; run `npm run build` first');
  }
}

function describeStore(storage: StorageInfo): string {
  switch (storage.kind) {
    case 'sqlite':
      return `sqlite ${storage.file}`;
    case 'memory':
      return 'memory (nothing survives a restart)';
    case 'redis':
      return `redis ${storage.url} (prefix ${storage.keyPrefix})`;
    case 'custom':
      return 'custom';
  }
}

async function main(argv: string[]): Promise<void> {
  let command: Command;
  try {
    command = parseCommand(argv, process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // A config file's mistake names its key: the usage text would not help with it.
    console.error(error instanceof ConfigError ? `holdfast: ${error.message}` : `holdfast: ${error.message}\nRun 'holdfast --help' for usage.`);
    process.exit(EXIT_USAGE);
  }
  switch (command.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return;
    case 'version':
      console.log(version());
      return;
    case 'serve':
      return serve(command);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    console.error(`holdfast: cannot listen: ${(error as Error).message}`);
  } else if (isHoldfastError(error) && START_ERRORS.has(error.code)) {
    console.error(`holdfast: ${error.message} [${error.code}]`);
  } else if (error instanceof RedisUnavailableError) {
    console.error(`holdfast: ${error.message}. Run \`npm install ioredis\`.`);
  } else if (error instanceof SqliteUnavailableError) {
    console.error(`holdfast: ${error.message}. Run \`npm install better-sqlite3\`, or start with --memory to keep messages in memory only.`);
  } else {
    console.error('holdfast:', error);
  }
  process.exit(1);
});
