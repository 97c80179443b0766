// One Lambda execution environment: a worker thread with its own process.env
// (the function's configuration), its own module instance of the bundled
// handler and everything it holds (SDK clients, Powertools singletons, warm
// caches). Plain ESM, so it runs without a TypeScript loader.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { registerHooks } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const { entry, handlerName, context: base, runtimeModules, maxSockets } = workerData;

// On Lambda an environment serves one invocation at a time, so its SDK clients hold a connection or two.
// Here one environment serves all the function's concurrent invocations, and each client would open up to
// its agent's 50 sockets: with a dozen functions busy, hundreds of connections to one DynamoDB Local, which
// thrashes past a few dozen. Every plain-HTTP agent made in this environment (the emulators are plain HTTP)
// keeps to `maxSockets`; requests past it queue in the agent, as they would for a free environment.
if (maxSockets !== undefined) {
  const Agent = http.Agent;
  http.Agent = class extends Agent {
    constructor(options = {}) {
      super({ ...options, maxSockets: Math.min(options.maxSockets ?? Number.POSITIVE_INFINITY, maxSockets) });
    }
  };
}

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
// "not sampled", so a function tracing with the X-Ray SDK (`-c tracing=sdk`) opens its segments and sends
// nothing; the logs carry the trace id either way.
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
