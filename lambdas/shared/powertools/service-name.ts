/** The service every Powertools singleton reports as. */
import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { envVars } from '../../../contract/env-vars';
import { DEFAULT_SERVICE_NAME } from '../../../contract/metrics';

export const serviceName = getStringFromEnv({ key: envVars.powertoolsServiceName, defaultValue: DEFAULT_SERVICE_NAME });
