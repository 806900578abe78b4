import { Router } from 'express';
import { z } from 'zod';
import { createConcert, MissingPriceError } from '../../seats/concerts';
import { requireAdmin } from '../admin-auth';
import type { AppDeps } from '../deps';
import { badRequest } from '../errors';
import { isoDate, parse } from '../validation';

const price = z.number({ error: 'must be a positive integer (won)' }).int().min(1);

const createConcertBody = z
  .strictObject({
    // Counted in characters (code points), as JSON Schema's maxLength and the VARCHAR(200) column count them.
    title: z.string().refine((title) => {
      const length = [...title].length;
      return length >= 1 && length <= 200;
    }, 'must be 1 to 200 characters'),
    dates: z
      .array(isoDate)
      .min(1)
      .max(366)
      .refine((dates) => new Set(dates).size === dates.length, 'must not repeat a date'),
    price: price.optional(),
    prices: z
      .record(z.string().regex(/^([1-9]|[1-4][0-9]|50)$/, 'seat numbers are 1 to 50'), price)
      .refine((prices) => Object.keys(prices).length > 0, 'must name at least one seat')
      .optional(),
  })
  .refine((body) => body.price !== undefined || body.prices !== undefined, {
    message: 'give price, prices or both',
    path: ['price'],
  });

/** `POST /v1/admin/concerts`: a concert with seats 1–50 on each date (X-Admin-Key). */
export function adminConcertsRouter(deps: AppDeps): Router {
  const router = Router();
  router.post('/concerts', requireAdmin(deps.config.adminApiKey), async (req, res) => {
    const body = parse(createConcertBody, req.body);
    const prices = body.prices ? Object.fromEntries(Object.entries(body.prices).map(([k, v]) => [Number(k), v])) : {};
    try {
      res.status(201).json(await createConcert(deps.dataSource, { ...body, prices }));
    } catch (err) {
      if (err instanceof MissingPriceError) throw badRequest(err.message);
      throw err;
    }
  });
  return router;
}
