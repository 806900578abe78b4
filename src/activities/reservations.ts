import type { HoldRequest, ReleaseRequest, ReservationView } from '../shared/types';
import type { ActivityDeps } from './deps';

/** Seat hold and release, each one locked MySQL transaction. */
export function createReservationActivities(deps: Pick<ActivityDeps, 'dataSource' | 'redis' | 'keys' | 'config'>) {
  void deps;
  return {
    async holdSeat(request: HoldRequest): Promise<ReservationView> {
      void request;
      throw new Error('not implemented');
    },
    async releaseSeat(request: ReleaseRequest): Promise<ReservationView> {
      void request;
      throw new Error('not implemented');
    },
  };
}
