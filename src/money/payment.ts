import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Decision, Statement } from '../db/sql';
import { isDuplicateKey, readThenWrite } from '../db/sql';
import { releaseReservation } from '../seats/holds';
import { liveHolds, loadReservations, seatOf } from '../seats/reservations';
import type { StoredReservation } from '../seats/reservations';
import { insufficientBalance, reservationNotFound, reservationNotHeld } from '../shared/errors';
import type { CheckoutResult, PaymentView, ReservationStatus, SeatStatus } from '../shared/types';
import { IDEMPOTENCY_COLUMNS, insertIdempotentResponse, recordOf, replayOf } from './idempotency';
import type { IdempotencyRow } from './idempotency';
import { paymentOfReservationsRead, paymentOfRows } from './queries';

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

type UserAndKeyRow = { balance: string } & IdempotencyRow;

/**
 * The checkout's locking reads, sent together with `START TRANSACTION`. Lock order seats
 * (sorted) → reservations → user → idempotency row, as holds and releases (seat → reservation →
 * user) and charges (user → idempotency row) take theirs. The payment that already covers these
 * reservations is read too (a retry of a committed attempt finds it).
 */
function lockCheckout(request: PaymentRequest, found: StoredReservation[]): Statement[] {
  const ids = found.map((r) => r.view.reservationId);
  return [
    {
      sql: `SELECT id, status, reservation_id, price FROM seats WHERE id IN (${placeholders(found.length)}) ORDER BY id FOR UPDATE`,
      params: found.map((r) => r.seatId),
    },
    {
      sql: `SELECT id, status, held_until FROM reservations WHERE id IN (${placeholders(ids.length)}) ORDER BY id FOR UPDATE`,
      params: ids,
    },
    {
      sql: `SELECT u.balance, ${IDEMPOTENCY_COLUMNS}
              FROM users u LEFT JOIN idempotency_keys k ON k.user_id = u.id AND k.idempotency_key = ?
             WHERE u.id = ? FOR UPDATE`,
      params: [request.idempotencyKey ?? null, request.userId],
    },
    paymentOfReservationsRead(ids),
  ];
}

/** What the locked rows call for: a replay, a refusal (thrown), or the writes of the payment. */
function decidePayment(request: PaymentRequest, found: StoredReservation[], rows: unknown[][]): Decision<PaymentView> {
  const [seats, reservations, users, paidRows] = rows as [
    LockedSeat[],
    LockedReservation[],
    UserAndKeyRow[],
    unknown[],
  ];
  const { userId, idempotencyKey: key, requestHash } = request;
  const ids = found.map((r) => r.view.reservationId);
  const [user] = users;
  if (!user) throw reservationNotFound();
  if (key) {
    const hash = requestHash ?? '';
    const first = recordOf(user);
    if (first) return { writes: [], result: replayOf<PaymentView>(first, key, 'PAYMENT', hash).body };
  }
  if (request.paymentId && reservations.every((r) => r.status === 'CONFIRMED')) {
    // A retry of the attempt that committed this very payment (its answer was lost): the same answer.
    const paid = paymentOfRows(paidRows);
    if (paid?.paymentId === request.paymentId) return { writes: [], result: paid };
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
  // The user's row is locked, so this is exactly the balance the update commits.
  const before = Number(user.balance);
  if (before < amount) throw insufficientBalance(before, amount);
  const balance = before - amount;
  const paymentId = request.paymentId ?? randomUUID();
  // DATETIME(3) keeps milliseconds, so the stored time reads back exactly as answered.
  const paidAt = new Date();
  const view: PaymentView = {
    paymentId,
    reservationId: ids[0]!,
    reservationIds: ids,
    amount,
    balance,
    paidAt: paidAt.toISOString(),
  };
  const sells: Statement[] = found.map((r) => ({
    sql: `UPDATE seats SET status = 'SOLD', holder_user_id = ?, hold_expires_at = NULL, reservation_id = ?
           WHERE id = ? AND (reservation_id = ? OR status = 'AVAILABLE') AND status <> 'SOLD'`,
    params: [userId, r.view.reservationId, r.seatId, r.view.reservationId],
  }));
  const writes: Statement[] = [
    { sql: 'UPDATE users SET balance = ? WHERE id = ?', params: [balance, userId] },
    // A second payment with this token (sent at the same time, for other holds) fails here on uq_payments_token.
    {
      sql: 'INSERT INTO payments (id, user_id, token_id, amount, balance_after, paid_at) VALUES (?, ?, ?, ?, ?, ?)',
      params: [paymentId, userId, request.tokenId ?? null, amount, balance, paidAt],
    },
    {
      sql: `INSERT INTO payment_reservations (payment_id, reservation_id) VALUES ${ids.map(() => '(?, ?)').join(', ')}`,
      params: ids.flatMap((id) => [paymentId, id]),
    },
    {
      sql: `INSERT INTO ledger_entries (user_id, type, amount, balance_after, payment_id, created_at)
            VALUES (?, 'PAYMENT', ?, ?, ?, ?)`,
      params: [userId, amount, balance, paymentId, paidAt],
    },
    ...sells,
    {
      sql: `UPDATE reservations SET status = 'CONFIRMED' WHERE id IN (${placeholders(ids.length)}) AND status IN ('HELD', 'EXPIRED')`,
      params: ids,
    },
  ];
  if (key) {
    const claim = { userId, key, operation: 'PAYMENT' as const, requestHash: requestHash ?? '' };
    writes.push(insertIdempotentResponse(claim, { status: 201, body: view }));
  }
  const firstSell = 4;
  return {
    writes,
    result: view,
    // Every row is locked and was checked above; a guarded update that missed means a bug, so undo everything.
    check: (results) => {
      const sold = results.slice(firstSell, firstSell + sells.length);
      const confirmed = results[firstSell + sells.length];
      if (sold.some((r) => r.affectedRows !== 1) || confirmed?.affectedRows !== ids.length) throw reservationNotHeld();
    },
  };
}

/** Another payment has already spent the token (payments sent at once for different holds). */
const tokenSpent = (err: unknown): boolean =>
  isDuplicateKey(err) && err instanceof Error && err.message.includes('uq_payments_token');

/**
 * Pays the user's reservations from the balance in one transaction, all or none, in three
 * round trips ({@link readThenWrite}): locks their seats, the reservations and the user and
 * reads the Idempotency-Key; checks each hold is the user's and was live when the request
 * arrived and that the balance covers the sum of the seat prices; then deducts it, writes one
 * payment (covering every reservation) and its ledger row, sells the seats, confirms the
 * reservations and stores the answer under the key, checks every guarded update hit its row, and
 * commits. Any refusal rolls everything back (the holds stay). Afterwards the user's other live holds are released (the token is spent, so they
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
  const payment = await readThenWrite(dataSource, lockCheckout(request, found), (rows) =>
    decidePayment(request, found, rows),
  ).catch((err: unknown) => {
    throw tokenSpent(err) ? reservationNotHeld() : err;
  });
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
