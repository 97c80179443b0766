/**
 * Powertools singletons, one module so a function that needs only one of them
 * bundles only that one. Outside Lambda the tracer switches itself off.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'dropline';

export const logger = new Logger({ serviceName });
const metricsDisabled = process.env.POWERTOOLS_METRICS_DISABLED === 'true';
/** With metrics switched off (the local runtime) "no metrics to publish" is not news. */
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: logger.error.bind(logger) };

export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Dropline',
  logger: metricsDisabled ? quiet : logger,
});
export const tracer = new Tracer({ serviceName });
