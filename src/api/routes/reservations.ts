import { Router } from 'express';
import type { AppDeps } from '../deps';

export function reservationsRouter(deps: AppDeps): Router {
  void deps;
  return Router();
}
