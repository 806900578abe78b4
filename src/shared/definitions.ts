import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AdmitSignal,
  CancelRequest,
  CheckoutRequest,
  CompleteSignal,
  HoldRequest,
  PaymentView,
  PayRequest,
  QueueEntryState,
  ReservationView,
  ReservationWorkflowState,
  Settlement,
} from './types';

/** Admission of this entry (sent with signal-with-start; a run of an older entry hands over). */
export const admitSignal = defineSignal<[AdmitSignal]>('admit');
/**
 * v1: a reservation workflow tells the entry its user paid. Runs started before checkout moved
 * to the entry workflow still send it; kept until none of them is open.
 */
export const completeSignal = defineSignal<[CompleteSignal]>('complete');
/** The entry's current state, for operators and tests (the API reads Redis instead). */
export const entryStateQuery = defineQuery<QueueEntryState>('entryState');
/** Pays the user's held reservations in one payment and spends the entry (its token). */
export const checkoutUpdate = defineUpdate<PaymentView, [CheckoutRequest]>('checkout');

/** Holds the seat for a user (sent with update-with-start, returns once the seat is held). */
export const holdUpdate = defineUpdate<ReservationView, [HoldRequest]>('hold');
/**
 * v1: pays this one reservation. Runs started before checkout moved to the entry workflow may
 * still receive it; kept until none of them is open.
 */
export const payUpdate = defineUpdate<PaymentView, [PayRequest]>('pay');
/** Releases the held reservation at the user's request. */
export const cancelUpdate = defineUpdate<ReservationView, [CancelRequest]>('cancel');
/** A checkout decided this reservation (paid, or released because its user paid for others). */
export const settledSignal = defineSignal<[Settlement]>('settled');
/** The reservation and payment this run holds. */
export const reservationStateQuery = defineQuery<ReservationWorkflowState>('reservationState');
