import { Router } from 'express';
import { z } from 'zod';
import { SeatCatalog } from '../../seats/catalog';
import type { AppDeps } from '../deps';
import { requireToken } from '../gate';
import { checkParams, isoDate, parse, uuid } from '../validation';

const concertParams = z.object({ concertId: uuid });
const seatParams = z.object({ concertId: uuid, date: isoDate });

/** `/v1/concerts`: concerts, dates with free seats and the seat map (ACTIVE token). */
export function concertsRouter(deps: AppDeps): Router {
  const router = Router();
  const catalog = new SeatCatalog(deps);
  const gate = requireToken(deps, { allow: ['ACTIVE'] });

  router.get('/', gate, async (_req, res) => {
    res.json({ concerts: await catalog.listConcerts() });
  });

  router.get('/:concertId/dates', checkParams(concertParams), gate, async (req, res) => {
    const { concertId } = parse(concertParams, req.params, 'path');
    res.json({ concertId, dates: await catalog.listDates(concertId) });
  });

  router.get('/:concertId/dates/:date/seats', checkParams(seatParams), gate, async (req, res) => {
    const { concertId, date } = parse(seatParams, req.params, 'path');
    res.json({ concertId, date, seats: await catalog.listSeats(concertId, date) });
  });

  return router;
}
