import type { ActivityDeps } from './deps';
import { createPaymentActivities } from './payments';
import { createQueueActivities } from './queue';
import { createReservationActivities } from './reservations';

export type { ActivityDeps } from './deps';

/** Every activity the worker registers. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createQueueActivities(deps),
    ...createReservationActivities(deps),
    ...createPaymentActivities(deps),
  };
}
