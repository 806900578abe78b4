import { randomUUID } from 'node:crypto';
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { RequestHandler } from 'express';
import { Router } from 'express';
import { z } from 'zod';
import { PerformanceLookup } from '../../seats/performances';
import { effectiveView, loadReservation } from '../../seats/reservation-view';
import { claimSeat, dropClaim, PENDING_CLAIM_MS, pendingValue } from '../../seats/seat-state';
import { cancelUpdate, holdUpdate } from '../../shared/definitions';
import { ErrorType } from '../../shared/errors';
import { reservationTaskQueue, reservationWorkflowId } from '../../shared/ids';
import type { ReservationView } from '../../shared/types';
import type { reservationWorkflow } from '../../workflows/reservation';
import { withWorkflowDeadline } from '../deadline';
import type { AppDeps } from '../deps';
import { domainError, HttpError } from '../errors';
import { authOf, requireToken } from '../gate';
import { isoDate, parse, seatNo, uuid } from '../validation';

/** How long the API keeps trying to cancel a hold whose 201 it could not deliver. */
const UNDELIVERED_HOLD_CANCEL_MS = 5 * 60_000;

const holdBody = z.strictObject({ concertId: uuid, date: isoDate, seatNo });
const reservationParams = z.object({ reservationId: uuid });

const checkParams: RequestHandler = (req, _res, next) => {
  parse(reservationParams, req.params, 'path');
  next();
};

const seatUnavailable = (date: string, seat: number): HttpError =>
  new HttpError(409, 'SEAT_UNAVAILABLE', `Seat ${seat} on ${date} is not available`);
const notFound = (): HttpError => new HttpError(404, 'RESERVATION_NOT_FOUND', 'No such reservation');
const notHeld = (): HttpError => new HttpError(409, 'RESERVATION_NOT_HELD', 'The reservation is no longer held');

/** `/v1/reservations`: hold, read and cancel seats (ACTIVE token). */
export function reservationsRouter(deps: AppDeps): Router {
  const router = Router();
  const performances = new PerformanceLookup(deps.dataSource);
  const gate = requireToken(deps, { allow: ['ACTIVE'] });

  /** The bearer's reservation as stored, or 404 (another user's reads as unknown). */
  const ownReservation = async (reservationId: string, userId: string): Promise<ReservationView> => {
    const found = await loadReservation(deps.dataSource, reservationId);
    if (!found || found.view.userId !== userId) throw notFound();
    return effectiveView(found.view);
  };

  router.post('/', gate, async (req, res) => {
    const { userId } = authOf(res);
    const { concertId, date, seatNo: seat } = parse(holdBody, req.body);
    await performances.require(concertId, date);

    // Pre-filter: a seat visibly sold, held or being held is refused here, without a
    // workflow or a row lock; otherwise this request claims it for PENDING_CLAIM_MS.
    const reservationId = randomUUID();
    const key = deps.keys.seatState(concertId, date);
    const now = Date.now();
    const claim = pendingValue(reservationId, now + PENDING_CLAIM_MS);
    const claimed = await claimSeat(deps.redis, key, seat, claim, now);
    if (claimed === 'taken') throw seatUnavailable(date, seat);

    const workflowId = reservationWorkflowId(concertId, date, seat);
    const hold = (): Promise<ReservationView> =>
      deps.temporal.workflow.executeUpdateWithStart(holdUpdate, {
        args: [{ reservationId, userId, concertId, date, seatNo: seat }],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof reservationWorkflow>('reservationWorkflow', {
          workflowId,
          taskQueue: reservationTaskQueue(deps.config.taskQueue),
          args: [{ concertId, date, seatNo: seat }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        }),
      });

    try {
      const view = await withWorkflowDeadline(deps.temporal, async () => {
        try {
          return await hold();
        } catch (err) {
          // The previous hold of this seat has lapsed but its run is still releasing it (well
          // under a second): wait for that run to end, then hold in a new run.
          if (claimed !== 'claimed-lapsed-hold' || domainError(err)?.code !== ErrorType.SEAT_UNAVAILABLE) throw err;
          await deps.temporal.workflow
            .getHandle(workflowId)
            .result()
            .catch(() => undefined);
          return hold();
        }
      });
      res.status(201).json(view);
    } catch (err) {
      // The hold activity replaces our claim with what MySQL saw; anything else is ours to undo.
      await dropClaim(deps.redis, key, seat, claim).catch(() => undefined);
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        // The client hears 503 and never learns this reservation id, but the hold may still
        // complete once a worker gets to it: cancel it, so no seat stays held for a user who
        // was told the hold failed. The workflow lets the hold settle before the cancel runs.
        void deps.temporal
          .withDeadline(Date.now() + UNDELIVERED_HOLD_CANCEL_MS, () =>
            deps.temporal.workflow
              .getHandle(workflowId)
              .executeUpdate(cancelUpdate, { args: [{ reservationId, userId }] }),
          )
          .then(() => req.log.info({ reservationId }, 'cancelled a hold whose answer timed out'))
          .catch(() => undefined);
      }
      throw err;
    }
  });

  router.get('/:reservationId', checkParams, gate, async (req, res) => {
    const { reservationId } = parse(reservationParams, req.params, 'path');
    res.json(await ownReservation(reservationId, authOf(res).userId));
  });

  router.delete('/:reservationId', checkParams, gate, async (req, res) => {
    const { reservationId } = parse(reservationParams, req.params, 'path');
    const { userId } = authOf(res);
    const view = await ownReservation(reservationId, userId);
    if (view.status !== 'HELD') throw notHeld();
    const handle = deps.temporal.workflow.getHandle(reservationWorkflowId(view.concertId, view.date, view.seatNo));
    try {
      res.json(
        await withWorkflowDeadline(deps.temporal, () =>
          handle.executeUpdate(cancelUpdate, { args: [{ reservationId, userId }] }),
        ),
      );
    } catch (err) {
      // The run that held it has ended (the hold lapsed meanwhile, or was already released).
      if (err instanceof WorkflowNotFoundError) throw notHeld();
      throw err;
    }
  });

  return router;
}
