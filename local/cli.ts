/**
 * The `dropline` command line. `serve` runs the local stack until stopped.
 */
import { parseArgs } from 'node:util';
import { JavaMissingError } from './emulators/dynamodb-local';
import { startLocalStack } from './stack';

const USAGE = `Usage: dropline <command> [options]

Commands:
  serve [--port N] [--host H] [--data-dir DIR]
        Boot the embedded AWS (DynamoDB Local + fauxqs) and serve the HTTP contract
        until Ctrl-C. The admin key comes from DROPLINE_ADMIN_KEY, or is generated.

Options:
  -h, --help    Show this help`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'serve') return serve(rest);
  console.error(`Unknown command: ${command}\n\n${USAGE}`);
  return 2;
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '3000' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`--port must be an integer from 0 to 65535, got ${values.port}`);
    return 2;
  }
  console.log('Starting the embedded AWS (DynamoDB Local, fauxqs)…');
  const stack = await startLocalStack({
    port,
    host: values.host,
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  });
  console.log(`dropline is serving the HTTP contract at ${stack.url}`);
  console.log(`  admin key (x-api-key): ${stack.adminKey}`);
  console.log(`  DynamoDB Local:        ${stack.endpoints.dynamodb}`);
  console.log(`  SQS/SNS (fauxqs):      ${stack.endpoints.sqs}`);
  console.log('Press Ctrl-C to stop.');

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      console.log(`\n${signal}: stopping…`);
      resolve();
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
  await stack.stop();
  console.log('Stopped.');
  return 0;
}

export function describeFailure(error: unknown): string {
  if (error instanceof JavaMissingError) return error.message;
  if (error instanceof Error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return `That port is in use: ${error.message}`;
    return error.message;
  }
  return String(error);
}
