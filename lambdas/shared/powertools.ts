/**
 * Powertools singletons, one module so a function that needs only one of them
 * bundles only that one. Outside Lambda the tracer switches itself off.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'dropline';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Dropline',
  logger,
});
export const tracer = new Tracer({ serviceName });
