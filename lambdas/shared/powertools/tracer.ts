/** The Powertools tracer of this execution environment (and the X-Ray SDK it loads). Outside Lambda it switches itself off. */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { serviceName } from './service-name';

export const tracer = new Tracer({ serviceName });
