import type { Services } from '../services';
import { createQueueActivities } from './queue';
import { createReservationActivities } from './reservations';

/** Every activity the worker registers, built on the process's services. */
export function createActivities(services: Services) {
  return {
    ...createQueueActivities(services),
    ...createReservationActivities(services),
  };
}

export type Activities = ReturnType<typeof createActivities>;
