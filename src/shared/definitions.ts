import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AdmitSignal,
  CancelRequest,
  CompleteSignal,
  HoldRequest,
  PaymentView,
  PayRequest,
  QueueEntryState,
  ReservationView,
  ReservationWorkflowState,
} from './types';

/** Admission moved this entry from waiting to active. */
export const admitSignal = defineSignal<[AdmitSignal]>('admit');
/** The user paid; the token is spent and the active slot is free. */
export const completeSignal = defineSignal<[CompleteSignal]>('complete');
/** The entry's current state, for operators and tests (the API reads Redis instead). */
export const entryStateQuery = defineQuery<QueueEntryState>('entryState');

/** Holds the seat for a user (sent with update-with-start, returns once the seat is held). */
export const holdUpdate = defineUpdate<ReservationView, [HoldRequest]>('hold');
/** Pays the held reservation. */
export const payUpdate = defineUpdate<PaymentView, [PayRequest]>('pay');
/** Releases the held reservation at the user's request. */
export const cancelUpdate = defineUpdate<ReservationView, [CancelRequest]>('cancel');
/** The reservation and payment this run holds. */
export const reservationStateQuery = defineQuery<ReservationWorkflowState>('reservationState');
