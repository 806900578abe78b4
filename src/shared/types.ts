/** Data that crosses the API ↔ workflow ↔ activity boundaries. Times are ISO-8601 UTC strings. */

export type QueueStatus = 'WAITING' | 'ACTIVE' | 'EXPIRED' | 'COMPLETED';
export type ReservationStatus = 'HELD' | 'CONFIRMED' | 'EXPIRED' | 'CANCELLED';
export type SeatStatus = 'AVAILABLE' | 'HELD' | 'SOLD';
export type LedgerType = 'CHARGE' | 'PAYMENT';

export interface QueueEntryInput {
  userId: string;
  tokenId: string;
}

export interface AdmitSignal {
  tokenId: string;
  /** Epoch milliseconds at which the active slot lapses. */
  activeUntil: number;
}

export interface CompleteSignal {
  tokenId: string;
}

export interface QueueEntryState {
  userId: string;
  tokenId: string;
  status: QueueStatus;
  activeUntil: string | null;
}

export interface AdmissionInput {
  /** Ticks before the workflow continues as new (bounds its history). */
  ticksPerRun?: number;
  /** Time between ticks. */
  tickMs?: number;
}

export interface TickResult {
  admitted: number;
}

export interface ReservationWorkflowInput {
  concertId: string;
  date: string;
  seatNo: number;
}

export interface HoldRequest {
  reservationId: string;
  userId: string;
  concertId: string;
  date: string;
  seatNo: number;
}

export interface ReservationView {
  reservationId: string;
  userId: string;
  concertId: string;
  date: string;
  seatNo: number;
  price: number;
  status: ReservationStatus;
  heldUntil: string;
}

export interface PayRequest {
  reservationId: string;
  userId: string;
  /** Client's Idempotency-Key, if any; stored with the payment in one transaction. */
  idempotencyKey?: string;
  /** Hash of the request body, compared when the key is replayed. */
  requestHash?: string;
}

export interface PaymentView {
  paymentId: string;
  reservationId: string;
  amount: number;
  balance: number;
  paidAt: string;
}

export interface CancelRequest {
  reservationId: string;
  userId: string;
}

export interface ReservationWorkflowState {
  reservation: ReservationView | null;
  payment: PaymentView | null;
}

export interface ReleaseRequest {
  reservationId: string;
  /** EXPIRED when the hold timer fired, CANCELLED when the user let go. */
  outcome: 'EXPIRED' | 'CANCELLED';
}

/** A queue token (and its entry) is void after this long, whatever its state. */
export const TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;
