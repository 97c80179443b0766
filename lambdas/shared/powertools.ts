/**
 * Powertools singletons, one module so every handler shares one logger, one
 * metrics and one tracer. A function that imports any of them bundles and
 * starts all three. Outside Lambda the tracer switches itself off.
 */
import { getBooleanFromEnv, getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { envVars } from '../../contract/env-vars';
import { DEFAULT_METRICS_NAMESPACE, DEFAULT_SERVICE_NAME } from '../../contract/metrics';

const serviceName = getStringFromEnv({ key: envVars.powertoolsServiceName, defaultValue: DEFAULT_SERVICE_NAME });

export const logger = new Logger({ serviceName });
/** Read as Metrics itself reads it, so the quiet logger is used exactly when metrics are off. */
const metricsDisabled = getBooleanFromEnv({
  key: envVars.powertoolsMetricsDisabled,
  defaultValue: false,
  extendedParsing: true,
});
/** With metrics switched off (the local runtime) "no metrics to publish" is not news. */
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: logger.error.bind(logger) };

export const metrics = new Metrics({
  serviceName,
  namespace: getStringFromEnv({ key: envVars.powertoolsMetricsNamespace, defaultValue: DEFAULT_METRICS_NAMESPACE }),
  logger: metricsDisabled ? quiet : logger,
});
export const tracer = new Tracer({ serviceName });
