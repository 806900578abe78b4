/** Data that crosses the API ↔ workflow ↔ activity boundaries. Times are ISO-8601 UTC strings. */

export type QueueStatus = 'WAITING' | 'ACTIVE' | 'EXPIRED' | 'COMPLETED';
export type ReservationStatus = 'HELD' | 'CONFIRMED' | 'EXPIRED' | 'CANCELLED';
export type SeatStatus = 'AVAILABLE' | 'HELD' | 'SOLD';
export type LedgerType = 'CHARGE' | 'PAYMENT';

export interface QueueEntryInput {
  userId: string;
  tokenId: string;
  /**
   * Epoch milliseconds at which the active window ends: entries start at admission, so the
   * window is known from the start. Absent only in runs started by v1 at token time, which
   * wait for an `admit` signal first.
   */
  activeUntil?: number;
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
  /** Entry workflows started this tick (absent in results recorded before v1.1). */
  started?: number;
}

/** What `finishEntry` decided: the entry ended, or a hold kept it admitted until `activeUntil`. */
export type FinishResult = { ended: true } | { ended: false; activeUntil: number };

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

/** A reservation together with its seat, as a checkout sees it. */
export interface SeatOfReservation {
  reservationId: string;
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

/**
 * What the hold step answers the reservation workflow: the reservation, and how long the hold
 * had left when the step finished. The workflow's clock stands still while a local activity
 * runs, so its timer counts from this rather than from `heldUntil − Date.now()`, which would
 * release every hold late by the time its hold step took.
 */
export interface HeldSeat extends ReservationView {
  /** Absent in results recorded before it was added. */
  remainingMs?: number;
}

/** v1 `pay` update of one reservation (legacy runs; see payUpdate). */
export interface PayRequest {
  reservationId: string;
  userId: string;
  idempotencyKey?: string;
  requestHash?: string;
}

/** `POST /v1/payments` as the entry workflow's `checkout` update receives it. */
export interface CheckoutRequest {
  userId: string;
  /** The queue token's id: the update belongs to the entry run carrying it. */
  tokenId: string;
  /** 1 to MAX_HOLDS_PER_USER distinct reservation ids, paid all or none. */
  reservationIds: string[];
  /** Epoch ms the request reached the API: a hold is judged by this, not by when the transaction runs. */
  arrivedAt: number;
  /** Client's Idempotency-Key, if any; stored with the payment in one transaction. */
  idempotencyKey?: string;
  /** Hash of the request body, compared when the key is replayed. */
  requestHash?: string;
  /**
   * The payment's id, chosen by the workflow before the transaction runs: a retry of an attempt
   * that committed finds it and answers it again, while any other request for the same
   * reservations is refused.
   */
  paymentId?: string;
}

export interface PaymentView {
  paymentId: string;
  /** The first of `reservationIds` (kept for v1 clients). */
  reservationId: string;
  reservationIds: string[];
  amount: number;
  balance: number;
  paidAt: string;
}

/** What a checkout decided for one reservation workflow. */
export interface Settlement {
  reservationId: string;
  outcome: 'CONFIRMED' | 'CANCELLED';
}

/** A committed checkout: the payment, and every reservation it paid or released (to tell their workflows). */
export interface CheckoutResult {
  payment: PaymentView;
  settled: Array<SeatOfReservation & Settlement>;
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
