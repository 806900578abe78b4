import { Router } from 'express';
import type { AppDeps } from '../deps';

export function queueRouter(deps: AppDeps): Router {
  void deps;
  return Router();
}
