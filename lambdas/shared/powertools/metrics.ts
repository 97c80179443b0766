/** The Powertools metrics of this execution environment: the contract's namespace, its own quiet logger when off. */
import { getBooleanFromEnv, getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { envVars } from '../../../contract/env-vars';
import { DEFAULT_METRICS_NAMESPACE } from '../../../contract/metrics';
import { logger } from './logger';
import { serviceName } from './service-name';

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
