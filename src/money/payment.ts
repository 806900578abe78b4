import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { ResultHeader } from '../db/sql';
import { inTransaction, isDuplicateKey } from '../db/sql';
import { releaseReservation } from '../seats/holds';
import { liveHolds, loadReservations, seatOf } from '../seats/reservations';
import type { StoredReservation } from '../seats/reservations';
import { insufficientBalance, reservationNotFound, reservationNotHeld } from '../shared/errors';
import type { CheckoutResult, PaymentView, ReservationStatus, SeatStatus } from '../shared/types';
import { claimIdempotencyKey, replayOf, storeIdempotentResponse } from './idempotency';
import { paymentOfReservations } from './queries';
import type { BalanceRow } from './queries';

/** What a checkout pays: the user's reservations, judged at the moment the request arrived. */
export interface PaymentRequest {
  userId: string;
  /** The queue token the payment spends; a token pays once (unique in `payments`). */
  tokenId?: string;
  reservationIds: readonly string[];
  /** Epoch ms the request reached the API. */
  arrivedAt: number;
  idempotencyKey?: string;
  requestHash?: string;
  /** Chosen before the transaction, so a retry of a committed attempt is recognised (see CheckoutRequest). */
  paymentId?: string;
}

interface LockedSeat {
  id: string | number;
  status: SeatStatus;
  reservation_id: string | null;
  price: string;
}

interface LockedReservation {
  id: string;
  status: ReservationStatus;
  held_until: Date;
}

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/**
 * Whether the hold can still be paid by a request that arrived at `arrivedAt`: it had not
 * lapsed then, and either it still holds its seat, or its timer released it in the meantime and
 * nobody has taken the seat since (a slow path never shortens a hold).
 */
function payable(reservation: LockedReservation | undefined, seat: LockedSeat | undefined, arrivedAt: number): boolean {
  if (!reservation || !seat || reservation.held_until.getTime() <= arrivedAt) return false;
  if (reservation.status === 'HELD') return seat.status === 'HELD' && seat.reservation_id === reservation.id;
  return reservation.status === 'EXPIRED' && seat.status === 'AVAILABLE';
}

async function payInTransaction(
  tx: EntityManager,
  request: PaymentRequest,
  found: StoredReservation[],
): Promise<PaymentView> {
  const { userId, idempotencyKey: key, requestHash } = request;
  const ids = found.map((r) => r.view.reservationId);
  // Lock order seats (sorted) → reservations → user → idempotency row, as holds and releases
  // (seat → reservation → user) and charges (user → idempotency row) take theirs. The key row
  // comes after the user on purpose: inserting it checks its foreign key with a shared lock on
  // the user row, and a shared lock later upgraded to an exclusive one deadlocks.
  const seats = await tx.query<LockedSeat[]>(
    `SELECT id, status, reservation_id, price FROM seats WHERE id IN (${placeholders(found.length)}) ORDER BY id FOR UPDATE`,
    found.map((r) => r.seatId),
  );
  const reservations = await tx.query<LockedReservation[]>(
    `SELECT id, status, held_until FROM reservations WHERE id IN (${placeholders(ids.length)}) ORDER BY id FOR UPDATE`,
    ids,
  );
  const [user] = await tx.query<BalanceRow[]>('SELECT balance FROM users WHERE id = ? FOR UPDATE', [userId]);
  if (!user) throw reservationNotFound();

  if (key) {
    const hash = requestHash ?? '';
    const first = await claimIdempotencyKey(tx, { userId, key, operation: 'PAYMENT', requestHash: hash });
    // Nothing is written yet, so returning here is a clean replay.
    if (first) return replayOf<PaymentView>(first, key, 'PAYMENT', hash).body;
  }
  if (request.paymentId && reservations.every((r) => r.status === 'CONFIRMED')) {
    // A retry of the attempt that committed this very payment (its answer was lost): the same answer.
    const paid = await paymentOfReservations(tx, ids);
    if (paid?.paymentId === request.paymentId) return paid;
  }
  const seatById = new Map(seats.map((s) => [String(s.id), s]));
  const reservationById = new Map(reservations.map((r) => [r.id, r]));
  for (const r of found) {
    if (!payable(reservationById.get(r.view.reservationId), seatById.get(r.seatId), request.arrivedAt)) {
      throw reservationNotHeld();
    }
  }

  // Prices come from the seat rows, never from the client.
  const amount = seats.reduce((sum, s) => sum + Number(s.price), 0);
  const before = Number(user.balance);
  if (before < amount) throw insufficientBalance(before, amount);
  const debited = await tx.query<ResultHeader>('UPDATE users SET balance = balance - ? WHERE id = ? AND balance >= ?', [
    amount,
    userId,
    amount,
  ]);
  if (debited.affectedRows !== 1) throw insufficientBalance(before, amount);
  const balance = before - amount;
  const paymentId = request.paymentId ?? randomUUID();
  // DATETIME(3) keeps milliseconds, so the stored time reads back exactly as answered.
  const paidAt = new Date();
  try {
    await tx.query(
      'INSERT INTO payments (id, user_id, token_id, amount, balance_after, paid_at) VALUES (?, ?, ?, ?, ?, ?)',
      [paymentId, userId, request.tokenId ?? null, amount, balance, paidAt],
    );
  } catch (err) {
    // Another payment spent this token first (sent at the same time, for other holds).
    if (isDuplicateKey(err)) throw reservationNotHeld();
    throw err;
  }
  await tx.query(
    `INSERT INTO payment_reservations (payment_id, reservation_id) VALUES ${ids.map(() => '(?, ?)').join(', ')}`,
    ids.flatMap((id) => [paymentId, id]),
  );
  await tx.query(
    `INSERT INTO ledger_entries (user_id, type, amount, balance_after, payment_id, created_at)
     VALUES (?, 'PAYMENT', ?, ?, ?, ?)`,
    [userId, amount, balance, paymentId, paidAt],
  );
  for (const r of found) {
    const sold = await tx.query<ResultHeader>(
      `UPDATE seats SET status = 'SOLD', holder_user_id = ?, hold_expires_at = NULL, reservation_id = ?
        WHERE id = ? AND (reservation_id = ? OR status = 'AVAILABLE') AND status <> 'SOLD'`,
      [userId, r.view.reservationId, r.seatId, r.view.reservationId],
    );
    // Every row is locked and was checked above; a mismatch means a bug, so undo everything.
    if (sold.affectedRows !== 1) throw reservationNotHeld();
  }
  const confirmed = await tx.query<ResultHeader>(
    `UPDATE reservations SET status = 'CONFIRMED' WHERE id IN (${placeholders(ids.length)}) AND status IN ('HELD', 'EXPIRED')`,
    ids,
  );
  if (confirmed.affectedRows !== ids.length) throw reservationNotHeld();

  const view: PaymentView = {
    paymentId,
    reservationId: ids[0]!,
    reservationIds: ids,
    amount,
    balance,
    paidAt: paidAt.toISOString(),
  };
  if (key) await storeIdempotentResponse(tx, userId, key, { status: 201, body: view });
  return view;
}

/**
 * Pays the user's reservations from the balance in one transaction, all or none: locks their
 * seats, the reservations and the user, claims the Idempotency-Key, checks each hold is the
 * user's and was live when the request arrived, checks the balance covers the sum of the seat
 * prices, then deducts it, writes one payment (covering every reservation) and its ledger row,
 * sells the seats and confirms the reservations. Any refusal rolls everything back (the holds
 * stay). Afterwards the user's other live holds are released (the token is spent, so they
 * could never be paid). Safe to run again: a retry with the same key replays the stored
 * result; one with the same `paymentId` finds the payment its earlier attempt committed.
 *
 * @throws ApplicationFailure `RESERVATION_NOT_FOUND`, `RESERVATION_NOT_HELD`,
 *   `INSUFFICIENT_BALANCE` or `IDEMPOTENCY_KEY_REUSED`
 */
export async function checkout(dataSource: DataSource, request: PaymentRequest): Promise<CheckoutResult> {
  const found = await loadReservations(dataSource, request.reservationIds);
  if (found.length !== request.reservationIds.length || found.some((r) => r.view.userId !== request.userId)) {
    throw reservationNotFound();
  }
  // Ascending ids: the order a payment lists its reservations in (the first is the v1 `reservationId`).
  found.sort((a, b) => (a.view.reservationId < b.view.reservationId ? -1 : 1));
  const payment = await inTransaction(dataSource, (tx) => payInTransaction(tx, request, found));
  const paid = new Set(payment.reservationIds);
  const settled: CheckoutResult['settled'] = found
    .filter((r) => paid.has(r.view.reservationId))
    .map((r) => ({ ...seatOf(r.view), outcome: 'CONFIRMED' }));
  for (const other of await liveHolds(dataSource, request.userId, new Date(0))) {
    if (paid.has(other.view.reservationId)) continue;
    const released = await releaseReservation(dataSource, other.view.reservationId, 'CANCELLED');
    if (released.status === 'CANCELLED' || released.status === 'EXPIRED') {
      settled.push({ ...seatOf(other.view), outcome: 'CANCELLED' });
    }
  }
  return { payment, settled };
}
