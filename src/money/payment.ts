import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { DataSource, EntityManager } from 'typeorm';
import { ErrorType } from '../shared/errors';
import type { PaymentView, PayRequest, ReservationStatus, SeatStatus } from '../shared/types';
import { claimIdempotencyKey, replayOf, storeIdempotentResponse } from './idempotency';
import { findReservationRef, paymentOfReservation } from './queries';
import type { ReservationRef } from './queries';
import type { BalanceRow, ResultHeader } from './sql';
import { inTransaction } from './sql';

interface LockedSeat {
  status: SeatStatus;
  reservation_id: string | null;
  price: string;
}

interface LockedReservation {
  user_id: string;
  status: ReservationStatus;
  live: number | string;
}

export const reservationNotFound = (reservationId: string): ApplicationFailure =>
  ApplicationFailure.nonRetryable(`Reservation ${reservationId} does not exist`, ErrorType.RESERVATION_NOT_FOUND);

export const reservationNotHeld = (reservationId: string): ApplicationFailure =>
  ApplicationFailure.nonRetryable(`Reservation ${reservationId} is no longer held`, ErrorType.RESERVATION_NOT_HELD);

const insufficientBalance = (balance: number, price: number): ApplicationFailure =>
  ApplicationFailure.nonRetryable(
    `The balance ${balance} is below the price ${price}; the seat stays held until the hold lapses`,
    ErrorType.INSUFFICIENT_BALANCE,
  );

async function payInTransaction(tx: EntityManager, request: PayRequest, ref: ReservationRef): Promise<PaymentView> {
  const { reservationId, userId, idempotencyKey: key, requestHash } = request;
  // Lock order seat → reservation → user → idempotency row. Holds and releases take seat →
  // reservation, charges user → idempotency row, so no two of them wait on each other in a
  // cycle. The idempotency row comes after the user on purpose: inserting it checks its
  // foreign key with a shared lock on the user row, and a shared lock later upgraded to an
  // exclusive one deadlocks against a concurrent charge of the same user.
  const [seat] = await tx.query<LockedSeat[]>(
    'SELECT status, reservation_id, price FROM seats WHERE id = ? FOR UPDATE',
    [ref.seatId],
  );
  const [reservation] = await tx.query<LockedReservation[]>(
    'SELECT user_id, status, held_until > NOW(3) AS live FROM reservations WHERE id = ? FOR UPDATE',
    [reservationId],
  );
  if (!seat || !reservation || reservation.user_id !== userId) throw reservationNotFound(reservationId);
  const [user] = await tx.query<BalanceRow[]>('SELECT balance FROM users WHERE id = ? FOR UPDATE', [userId]);
  if (!user) throw reservationNotFound(reservationId);

  if (key) {
    const first = await claimIdempotencyKey(tx, {
      userId,
      key,
      operation: 'PAYMENT',
      requestHash: requestHash ?? '',
    });
    // Nothing is written yet, so returning here is a clean replay.
    if (first) return replayOf<PaymentView>(first, key, 'PAYMENT', requestHash ?? '').body;
  }
  if (reservation.status === 'CONFIRMED' && !key) {
    // A retry of an attempt that committed but whose answer was lost (the workflow sends no
    // second payment for a paid reservation, so this can only be the same request again).
    const paid = await paymentOfReservation(tx, reservationId);
    if (paid) return paid;
  }
  const held =
    reservation.status === 'HELD' &&
    Number(reservation.live) === 1 &&
    seat.status === 'HELD' &&
    seat.reservation_id === reservationId;
  if (!held) throw reservationNotHeld(reservationId);

  // The price comes from the seat row, never from the client.
  const price = Number(seat.price);
  const before = Number(user.balance);
  if (before < price) throw insufficientBalance(before, price);
  const debited = await tx.query<ResultHeader>('UPDATE users SET balance = balance - ? WHERE id = ? AND balance >= ?', [
    price,
    userId,
    price,
  ]);
  if (debited.affectedRows !== 1) throw insufficientBalance(before, price);
  const balance = before - price;
  const paymentId = randomUUID();
  // DATETIME(3) keeps milliseconds, so the stored time reads back exactly as answered.
  const paidAt = new Date();
  await tx.query(
    'INSERT INTO payments (id, reservation_id, user_id, amount, balance_after, paid_at) VALUES (?, ?, ?, ?, ?, ?)',
    [paymentId, reservationId, userId, price, balance, paidAt],
  );
  await tx.query(
    `INSERT INTO ledger_entries (user_id, type, amount, balance_after, payment_id, created_at)
     VALUES (?, 'PAYMENT', ?, ?, ?, ?)`,
    [userId, price, balance, paymentId, paidAt],
  );
  const sold = await tx.query<ResultHeader>(
    `UPDATE seats SET status = 'SOLD', hold_expires_at = NULL
      WHERE id = ? AND reservation_id = ? AND status = 'HELD'`,
    [ref.seatId, reservationId],
  );
  const confirmed = await tx.query<ResultHeader>(
    "UPDATE reservations SET status = 'CONFIRMED' WHERE id = ? AND status = 'HELD'",
    [reservationId],
  );
  // Both rows are locked and were checked above; a mismatch means a bug, so undo everything.
  if (sold.affectedRows !== 1 || confirmed.affectedRows !== 1) throw reservationNotHeld(reservationId);

  const view: PaymentView = { paymentId, reservationId, amount: price, balance, paidAt: paidAt.toISOString() };
  if (key) await storeIdempotentResponse(tx, userId, key, { status: 201, body: view });
  return view;
}

/** A committed payment and the seat it bought (for the Redis pre-filter). */
export interface PaymentOutcome {
  payment: PaymentView;
  seat: ReservationRef;
}

/**
 * Pays a held reservation from the user's balance in one transaction: locks seat →
 * reservation → user, claims the Idempotency-Key, checks the hold is the user's, HELD and not
 * lapsed (the database clock decides), checks balance ≥ the seat's price, then deducts it,
 * writes the payment and its ledger row, sells the seat, confirms the reservation and stores
 * the response. Any refusal rolls everything back (the hold stays). Safe to run again: a
 * retry with the same key replays the stored result.
 *
 * @throws ApplicationFailure `RESERVATION_NOT_FOUND`, `RESERVATION_NOT_HELD`,
 *   `INSUFFICIENT_BALANCE` or `IDEMPOTENCY_KEY_REUSED`, all non-retryable
 */
export async function payHeldReservation(dataSource: DataSource, request: PayRequest): Promise<PaymentOutcome> {
  const ref = await findReservationRef(dataSource, request.reservationId);
  if (!ref || ref.userId !== request.userId) throw reservationNotFound(request.reservationId);
  const payment = await inTransaction(dataSource, (tx) => payInTransaction(tx, request, ref));
  return { payment, seat: ref };
}
