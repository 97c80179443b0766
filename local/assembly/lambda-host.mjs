// One Lambda execution environment: a worker thread with its own process.env
// (the function's configuration), its own module instance of the bundled
// handler and everything it holds (SDK clients, Powertools singletons, warm
// caches). Plain ESM, so it runs without a TypeScript loader.
import { randomBytes } from 'node:crypto';
import { registerHooks } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const { entry, handlerName, context: base, runtimeModules } = workerData;

// Lambda's Node.js runtime provides the AWS SDK for JavaScript v3, so bundles leave `@aws-sdk/*` out
// ("Building Lambda functions with Node.js", AWS Lambda Developer Guide). Here the project's installed
// SDK plays the runtime's: those imports resolve from `runtimeModules`, everything else from the bundle.
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith('@aws-sdk/')) return nextResolve(specifier, { ...context, parentURL: runtimeModules });
    return nextResolve(specifier, context);
  },
});

let handler;
let initError;
try {
  const module = await import(entry);
  handler = module[handlerName];
  if (typeof handler !== 'function') initError = new Error(`${entry} exports no function ${handlerName}`);
} catch (error) {
  initError = error;
}

// Lambda sets the X-Ray trace header for each invocation. Locally there is no X-Ray: the header says
// "not sampled", so an active tracer opens its segments and sends nothing.
const traceHeader = () =>
  `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;

const serialize = (error) =>
  error instanceof Error
    ? { errorType: error.name, errorMessage: error.message, stack: error.stack }
    : { errorType: 'Error', errorMessage: String(error) };

parentPort.on('message', async ({ id, event, requestId, deadline }) => {
  if (initError) {
    parentPort.postMessage({ id, error: { ...serialize(initError), phase: 'init' } });
    return;
  }
  process.env._X_AMZN_TRACE_ID = traceHeader();
  const context = {
    ...base,
    awsRequestId: requestId,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const result = await handler(event, context);
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: serialize(error) });
  }
});
// Init is over: the runtime starts invocations (and their timeouts) from here, as Lambda does.
parentPort.postMessage({ ready: true, ...(initError ? { initError: serialize(initError) } : {}) });
