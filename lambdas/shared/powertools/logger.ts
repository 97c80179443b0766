/** The Powertools logger of this execution environment. */
import { Logger } from '@aws-lambda-powertools/logger';
import { serviceName } from './service-name';

export const logger = new Logger({ serviceName });
