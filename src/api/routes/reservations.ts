import { Router } from 'express';
import { z } from 'zod';
import { cancelHold, holdSeatFor, ownReservation } from '../../seats/booking';
import type { AppDeps } from '../deps';
import { authOf, requireToken } from '../gate';
import { checkParams, isoDate, parse, seatNo, uuid } from '../validation';

const holdBody = z.strictObject({ concertId: uuid, date: isoDate, seatNo });
const reservationParams = z.object({ reservationId: uuid });

/** `/v1/reservations`: hold, read and cancel seats (ACTIVE token); the steps live in src/seats/booking.ts. */
export function reservationsRouter(deps: AppDeps): Router {
  const router = Router();
  const gate = requireToken(deps, { allow: ['ACTIVE'] });

  router.post('/', gate, async (req, res) => {
    const choice = parse(holdBody, req.body);
    res.status(201).json(await holdSeatFor(deps, { userId: authOf(res).userId, ...choice }));
  });

  router.get('/:reservationId', checkParams(reservationParams), gate, async (req, res) => {
    const { reservationId } = parse(reservationParams, req.params, 'path');
    res.json(await ownReservation(deps.dataSource, reservationId, authOf(res).userId));
  });

  router.delete('/:reservationId', checkParams(reservationParams), gate, async (req, res) => {
    const { reservationId } = parse(reservationParams, req.params, 'path');
    res.json(await cancelHold(deps, reservationId, authOf(res).userId));
  });

  return router;
}
