import { Router } from 'express';
import type { AppDeps } from '../deps';

export function balanceRouter(deps: AppDeps): Router {
  void deps;
  return Router();
}
