import { Router } from 'express';
import type { AppDeps } from '../deps';

export function paymentsRouter(deps: AppDeps): Router {
  void deps;
  return Router();
}
