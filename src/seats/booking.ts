import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { cancelUpdate, holdUpdate } from '../shared/definitions';
import { ErrorType, errorTypeOf, reservationNotFound, reservationNotHeld, seatUnavailable } from '../shared/errors';
import { reservationTaskQueue, reservationWorkflowId } from '../shared/ids';
import type { ReservationView } from '../shared/types';
import { callAfterRunEnds, WORKFLOW_CALL_DEADLINE_MS, withWorkflowDeadline } from '../temporal';
import { assertOnSale } from './performances';
import type { PerformanceLookup } from './performances';
import { effectiveView, loadReservation } from './reservations';
import { PENDING_CLAIM_MS, pendingValue } from './seat-state';
import type { SeatState } from './seat-state';

/** How long the API keeps trying to cancel a hold whose 201 it could not deliver. */
const UNDELIVERED_HOLD_CANCEL_MS = 5 * 60_000;

export interface BookingDeps {
  dataSource: DataSource;
  temporal: Client;
  seatState: SeatState;
  performances: PerformanceLookup;
  /** `workflowCallTimeoutMs`: WORKFLOW_CALL_TIMEOUT_MS (src/config.ts); src/temporal.ts's default if absent. */
  config: { taskQueue: string; workflowCallTimeoutMs?: number };
  log: Logger;
}

export interface SeatChoice {
  userId: string;
  concertId: string;
  date: string;
  seatNo: number;
}

/**
 * `POST /v1/reservations`: holds a seat for the user.
 *
 * 1. The performance must exist and not have passed (`SALES_CLOSED`).
 * 2. Pre-filter: a seat visibly sold, held or being held is refused in Redis, without a workflow
 *    or a row lock; otherwise this request claims it for a few seconds.
 * 3. Update-with-start on the seat's reservation workflow: its `hold` update writes the hold in
 *    MySQL and answers. If the previous hold of the seat has lapsed but its run is still
 *    releasing it (well under a second), wait for that run to end and hold in a new one.
 * 4. A hold whose answer ran past the deadline (503 to the client) is cancelled in the
 *    background once it completes, so no seat stays held for a user told it failed.
 */
export async function holdSeatFor(deps: BookingDeps, choice: SeatChoice): Promise<ReservationView> {
  const { userId, concertId, date, seatNo } = choice;
  assertOnSale(date);
  await deps.performances.require(concertId, date);

  const reservationId = randomUUID();
  const now = Date.now();
  const claim = pendingValue(reservationId, now + PENDING_CLAIM_MS);
  const claimed = await deps.seatState.claim(choice, claim, now);
  if (claimed === 'taken') throw seatUnavailable(date, seatNo);

  const workflowId = reservationWorkflowId(concertId, date, seatNo);
  const timeoutMs = deps.config.workflowCallTimeoutMs ?? WORKFLOW_CALL_DEADLINE_MS;
  const giveUpAt = Date.now() + timeoutMs;
  const hold = async (): Promise<ReservationView> => {
    for (;;) {
      try {
        return await deps.temporal.workflow.executeUpdateWithStart(holdUpdate, {
          // One update id per hold: a call sent again finds the update the first one admitted.
          updateId: reservationId,
          args: [{ reservationId, userId, concertId, date, seatNo }],
          startWorkflowOperation: new WithStartWorkflowOperation('reservationWorkflow', {
            workflowId,
            taskQueue: reservationTaskQueue(deps.config.taskQueue),
            args: [{ concertId, date, seatNo }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          }),
        });
      } catch (err) {
        // The Temporal server ends one call at its own limit (30 s from its frontend to history)
        // with DEADLINE_EXCEEDED: with time left of ours (WORKFLOW_CALL_TIMEOUT_MS above that),
        // wait on in a new call.
        if (!serverEndedCallEarly(err, giveUpAt)) throw err;
      }
    }
  };
  try {
    // The seat's previous hold has lapsed but its run may still be releasing it (well under a
    // second): then wait for that run to end and hold in a new one.
    return await callAfterRunEnds(
      deps.temporal,
      workflowId,
      hold,
      (err) => claimed === 'claimed-lapsed-hold' && errorTypeOf(err) === ErrorType.SEAT_UNAVAILABLE,
      timeoutMs,
    );
  } catch (err) {
    // The hold activity replaces our claim with what MySQL saw; anything else is ours to undo.
    await deps.seatState.dropClaim(choice, claim).catch(() => undefined);
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
      cancelInBackground(deps, workflowId, reservationId, userId);
    throw err;
  }
}

const GRPC_DEADLINE_EXCEEDED = 4;

/** A DEADLINE_EXCEEDED that came more than a second before our own deadline: the server's limit, not ours. */
function serverEndedCallEarly(err: unknown, giveUpAt: number): boolean {
  return (
    err instanceof WorkflowUpdateRPCTimeoutOrCancelledError &&
    (err.cause as { code?: unknown } | undefined)?.code === GRPC_DEADLINE_EXCEEDED &&
    Date.now() < giveUpAt - 1_000
  );
}

/** The workflow lets the hold settle before the cancel runs. */
function cancelInBackground(deps: BookingDeps, workflowId: string, reservationId: string, userId: string): void {
  void deps.temporal
    .withDeadline(Date.now() + UNDELIVERED_HOLD_CANCEL_MS, () =>
      deps.temporal.workflow.getHandle(workflowId).executeUpdate(cancelUpdate, { args: [{ reservationId, userId }] }),
    )
    .then(() => deps.log.info({ reservationId }, 'cancelled a hold whose answer timed out'))
    .catch(() => undefined);
}

/** The user's reservation as it reads now, or `RESERVATION_NOT_FOUND` (another user's reads as unknown). */
export async function ownReservation(db: DataSource, reservationId: string, userId: string): Promise<ReservationView> {
  const found = await loadReservation(db, reservationId);
  if (!found || found.view.userId !== userId) throw reservationNotFound();
  return effectiveView(found.view);
}

/** `DELETE /v1/reservations/{id}`: releases the user's own HELD reservation through its workflow. */
export async function cancelHold(deps: BookingDeps, reservationId: string, userId: string): Promise<ReservationView> {
  const view = await ownReservation(deps.dataSource, reservationId, userId);
  if (view.status !== 'HELD') throw reservationNotHeld();
  const handle = deps.temporal.workflow.getHandle(reservationWorkflowId(view.concertId, view.date, view.seatNo));
  try {
    return await withWorkflowDeadline(
      deps.temporal,
      () => handle.executeUpdate(cancelUpdate, { args: [{ reservationId, userId }] }),
      deps.config.workflowCallTimeoutMs,
    );
  } catch (err) {
    // The run that held it has ended (the hold lapsed meanwhile, or was already released).
    if (err instanceof WorkflowNotFoundError) throw reservationNotHeld();
    throw err;
  }
}
