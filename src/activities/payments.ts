import type { PaymentView, PayRequest } from '../shared/types';
import type { ActivityDeps } from './deps';

/** Payment of a held reservation: one locked MySQL transaction. */
export function createPaymentActivities(deps: Pick<ActivityDeps, 'dataSource' | 'redis' | 'keys' | 'config'>) {
  void deps;
  return {
    async payReservation(request: PayRequest): Promise<PaymentView> {
      void request;
      throw new Error('not implemented');
    },
  };
}
