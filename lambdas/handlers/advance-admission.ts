// (schedule) --> move each waiting room's admission boundary, keep the signing keys --> CloudFront KeyValueStore
import { setTimeout as sleep } from 'node:timers/promises';
import { getNumberFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import type { Context } from 'aws-lambda';
import { envVars } from '../../contract/env-vars';
import { admissionController } from '../shared/composition';
import { eventHandler } from '../shared/event-handler';
import { logger } from '../shared/powertools/logger';
import { stopTimeOf } from '../shared/stop-time';

/** As the expiry sweep: a schedule fires once a minute on AWS, the boundary moves every second within it. */
const RUN_FOR_MS = getNumberFromEnv({ key: envVars.sweepForSeconds, defaultValue: 0 }) * 1000;
const TICK_EVERY_MS = 1000;

export async function advanceAdmission(
  _event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<{ ticks: number; moved: number }> {
  // No tick begins within 10 s of the timeout, whatever RUN_FOR_MS says.
  const until = Math.min(Date.now() + RUN_FOR_MS, stopTimeOf(context));
  let ticks = 0;
  let moved = 0;
  do {
    const started = Date.now();
    moved += (await admissionController.tick()).length;
    ticks++;
    const next = started + TICK_EVERY_MS;
    if (next >= until) break;
    await sleep(next - Date.now());
  } while (Date.now() < until);
  if (moved > 0) logger.debug('Moved admission boundaries', { ticks, moved });
  return { ticks, moved };
}

export const handler = eventHandler(advanceAdmission);
